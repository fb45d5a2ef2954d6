#!/usr/bin/env bash
# Builds every deployable artifact for arm64 (AWS Graviton):
#   dist/lambda/<binary>/bootstrap   each Lambda, from `cargo lambda build --release --arm64`
#   timmybot-gateway:local           the gateway service image (docker buildx, linux/arm64)
# The CDK app reads dist/lambda (override with `-c lambdaAssetsDir=...`) and
# builds the image itself from the Dockerfile at `cdk deploy`; building it
# here first catches a broken image before a deploy starts.
#
#   scripts/package.sh              Lambdas and image
#   scripts/package.sh --no-image   Lambdas only (no Docker needed)
#   WITH_YTDLP=true scripts/package.sh   image with yt-dlp (YouTube on)
#
# Needs: cargo-lambda and zig (`pip install cargo-lambda ziglang`), the
# rustup target aarch64-unknown-linux-gnu, and Docker with buildx for the image.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# The Lambda binaries, named as in infra-cdk/deploy-contract.json (artifacts.lambdas).
lambdas=(interactions-lambda allowlist-admin-lambda start-check-lambda)
image=true
for arg in "$@"; do
  case "$arg" in
    --no-image) image=false ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "package: unknown option $arg" >&2; exit 2 ;;
  esac
done

die() { echo "package: $*" >&2; exit 1; }

command -v cargo-lambda >/dev/null \
  || die "cargo-lambda not found: pip install cargo-lambda ziglang (or see https://www.cargo-lambda.info)"
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  die "the arm64 target is missing: rustup target add aarch64-unknown-linux-gnu"
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}"
packages=()
for bin in "${lambdas[@]}"; do packages+=(-p "$bin"); done
echo "== Lambdas (arm64): ${lambdas[*]}"
# Opus is not linked into the Lambdas; nothing native beyond what zig cross-compiles.
cargo lambda build --release --arm64 --locked "${packages[@]}"

rm -rf dist/lambda
for bin in "${lambdas[@]}"; do
  mkdir -p "dist/lambda/$bin"
  cp "$target_dir/lambda/$bin/bootstrap" "dist/lambda/$bin/bootstrap"
  echo "   dist/lambda/$bin/bootstrap ($(du -h "dist/lambda/$bin/bootstrap" | cut -f1))"
done

if [[ "$image" == true ]]; then
  command -v docker >/dev/null || die "docker not found (use --no-image to build only the Lambdas)"
  echo "== gateway image (linux/arm64)"
  docker buildx build --platform linux/arm64 --build-arg "WITH_YTDLP=${WITH_YTDLP:-false}" \
    -t timmybot-gateway:local --load .
fi
echo "== done: now cd infra-cdk && npm ci && npx cdk deploy (see docs/deploy.md)"
