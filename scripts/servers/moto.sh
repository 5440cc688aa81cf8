#!/usr/bin/env bash
# Local moto S3 server with signature checking turned on.
#
#   scripts/servers/moto.sh start   start moto on a free 127.0.0.1 port, create
#                                   an IAM user + access key, write moto.env
#   scripts/servers/moto.sh stop    stop the server started by `start`
#   scripts/servers/moto.sh env     print moto.env
#   scripts/servers/moto.sh status  exit 0 if running
#
# State lives in ${RECSYNC_SERVERS_DIR:-<repo>/.servers}/moto/, the env file
# is ${RECSYNC_SERVERS_DIR:-<repo>/.servers}/moto.env.
#
# moto accepts the first INITIAL_NO_AUTH_ACTION_COUNT actions without checking
# credentials and checks the SigV4 signature (and IAM policy) of every action
# after that. We use exactly three unauthenticated actions: CreateUser,
# PutUserPolicy (allow *), CreateAccessKey.
set -euo pipefail

LOG_TAG=moto
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ensure_servers_dir
STATE_DIR="$SERVERS_DIR/moto"
PID_FILE="$STATE_DIR/moto.pid"
LOG_FILE="$STATE_DIR/moto.log"
ENV_FILE="$SERVERS_DIR/moto.env"
START_TIMEOUT="${MOTO_START_TIMEOUT:-30}"
NO_AUTH_ACTIONS=3

# Sets MOTO_CMD to the command that runs moto's server.
moto_cmd() {
    if command -v moto_server >/dev/null 2>&1; then
        MOTO_CMD=(moto_server)
    elif "$(python_bin)" -c 'import moto.server' 2>/dev/null; then
        MOTO_CMD=("$(python_bin)" -m moto.server)
    else
        die "moto is not installed (run scripts/install-deps.sh)"
    fi
}

do_stop() {
    local match="moto"
    [[ -s "$STATE_DIR/port" ]] && match="-p $(cat "$STATE_DIR/port") "
    stop_pidfile "$PID_FILE" moto_server 15 "$match"
    rm -f "$ENV_FILE"
    rm -rf "$STATE_DIR"
}

do_start() {
    if pid_alive "$PID_FILE" && [[ -s "$ENV_FILE" ]]; then
        log "already running (pid $(cat "$PID_FILE")), env in $ENV_FILE"
        return 0
    fi
    # Leftovers of a half-finished start.
    do_stop

    mkdir -p "$STATE_DIR"
    local port started py endpoint
    port="$(free_port)"
    endpoint="http://127.0.0.1:$port"
    echo "$port" >"$STATE_DIR/port"
    py="$(python_bin)"
    started=$SECONDS

    moto_cmd
    log "starting ${MOTO_CMD[*]} on 127.0.0.1:$port"
    INITIAL_NO_AUTH_ACTION_COUNT=$NO_AUTH_ACTIONS \
        start_bg "$PID_FILE" "$LOG_FILE" "${MOTO_CMD[@]}" -H 127.0.0.1 -p "$port"

    # Ready when the moto API answers (it does not count as an action).
    until curl -fsS -o /dev/null --max-time 2 "$endpoint/moto-api/data.json" 2>/dev/null; do
        if ! pid_alive "$PID_FILE"; then
            tail_log "$LOG_FILE"
            do_stop
            die "moto_server exited during startup"
        fi
        if ((SECONDS - started > START_TIMEOUT)); then
            tail_log "$LOG_FILE"
            do_stop
            die "moto_server did not answer on $endpoint within ${START_TIMEOUT}s"
        fi
        sleep 0.2
    done

    local keys ak sk
    if ! keys="$("$py" "$SERVERS_SCRIPT_DIR/s3check.py" bootstrap-moto "$endpoint")"; then
        tail_log "$LOG_FILE"
        do_stop
        die "could not create the IAM user/access key"
    fi
    read -r ak sk <<<"$keys"

    if ! "$py" "$SERVERS_SCRIPT_DIR/s3check.py" auth "$endpoint" "$ak" "$sk" us-east-1 >&2; then
        tail_log "$LOG_FILE"
        do_stop
        die "authentication is not enforced as expected"
    fi

    umask 077
    cat >"$ENV_FILE.tmp" <<EOF
RECSYNC_TEST_MOTO_ENDPOINT=$endpoint
RECSYNC_TEST_MOTO_ACCESS_KEY=$ak
RECSYNC_TEST_MOTO_SECRET_KEY=$sk
RECSYNC_TEST_MOTO_REGION=us-east-1
EOF
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    log "ready at $endpoint after $((SECONDS - started))s (pid $(cat "$PID_FILE")); env: $ENV_FILE"
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    env) print_env_file "$ENV_FILE" ;;
    status)
        if pid_alive "$PID_FILE"; then
            echo "moto running (pid $(cat "$PID_FILE"))"
        else
            echo "moto not running"
            exit 1
        fi
        ;;
    *)
        echo "usage: $0 start|stop|env|status" >&2
        exit 2
        ;;
esac
