# syntax=docker/dockerfile:1
#
# The gateway service's image: the `timmybot` binary running `serve` against
# DynamoDB and SQS on ECS Fargate (ARM64/Graviton). The CDK stack builds it
# from this file at `cdk deploy`; `scripts/package.sh` builds it too.
#
#   docker build --platform linux/arm64 -t timmybot-gateway .
#   docker build --platform linux/arm64 --build-arg WITH_YTDLP=true -t timmybot-gateway .
#
# Build context: the repository root (.dockerignore keeps target/ and
# node_modules out of it).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---- build: the release binary, with Opus compiled from the vendored
# sources and linked statically, so the runtime image needs no libopus.
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake build-essential pkg-config \
 && rm -rf /var/lib/apt/lists/*
ENV LIBOPUS_BUNDLED=1 \
    LIBOPUS_STATIC=1 \
    CARGO_TERM_COLOR=never
WORKDIR /src
COPY . .
# Without the default `sandbox` feature: the fakes stay out of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p timmybot --bin timmybot --no-default-features \
 && install -m 0755 target/release/timmybot /timmybot

# ---- yt-dlp (optional): the self-contained release binary, checked against
# the release's own checksum list. Only copied into the image when
# WITH_YTDLP=true; otherwise this stage leaves an empty folder.
FROM debian:${DEBIAN_RELEASE}-slim AS ytdlp
ARG WITH_YTDLP=false
# The newest release when this was last updated; docs/sources.md says how to
# move it on (the checksum is checked against the release's own list).
ARG YTDLP_VERSION=2026.10.26
ARG TARGETARCH
RUN mkdir -p /out \
 && if [ "$WITH_YTDLP" = "true" ]; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
      && case "$TARGETARCH" in arm64) asset=yt-dlp_linux_aarch64 ;; amd64) asset=yt-dlp_linux ;; \
           *) echo "no yt-dlp build for $TARGETARCH" >&2; exit 1 ;; esac \
      && base="https://github.com/yt-dlp/yt-dlp/releases/download/${YTDLP_VERSION}" \
      && curl -fsSLo "/out/$asset" "$base/$asset" \
      && curl -fsSLo /tmp/SHA2-256SUMS "$base/SHA2-256SUMS" \
      && (cd /out && grep " $asset\$" /tmp/SHA2-256SUMS | sha256sum -c -) \
      && mv "/out/$asset" /out/yt-dlp && chmod 0755 /out/yt-dlp; \
    fi

# ---- runtime: Debian slim with CA certificates (Discord, AWS and media
# hosts are reached over TLS with the system roots), a non-root user.
FROM debian:${DEBIAN_RELEASE}-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/timmybot --create-home timmybot
COPY --from=build /timmybot /usr/local/bin/timmybot
COPY --from=ytdlp /out/ /usr/local/bin/
USER timmybot
WORKDIR /var/lib/timmybot
# No port is published: the gateway dials out to Discord; /health is only
# for the container's own health check on loopback.
ENTRYPOINT ["/usr/local/bin/timmybot"]
CMD ["serve"]
