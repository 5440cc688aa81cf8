#!/usr/bin/env bash
# Write-path benchmark: recsync mount vs. a plain folder on the same disk.
#
#   bench/run.sh
#
# Builds recsync (release), starts a local moto S3 server, mounts recsync over
# a fresh folder, measures, prints a table and writes bench/results/latest.json.
# See bench/README.md for what is measured.
#
# Environment:
#   RECSYNC_BIN        use this recsync binary instead of building one
#   BENCH_WORK_PARENT  where the scratch folder is created (default /var/tmp);
#                      needs ~3 GiB free
#   BENCH_REPS         repetitions of each 1 GiB write (default 5, at least 3)
#   BENCH_ONLY         comma-separated subset: visible,close,seq_1m,seq_4k
#   BENCH_S3           moto (default): scripts/servers/moto.sh, which checks
#                      SigV4 signatures, falling back to a plain moto_server if
#                      that script is missing or fails; plain: a plain
#                      moto_server, which accepts any signature
#
# Exit status: 0 when the measurements ran (targets met or not), non-zero when
# something broke (build, server, mount, a recsync error).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
RESULTS_DIR="$BENCH_DIR/results"
WORK_PARENT="${BENCH_WORK_PARENT:-/var/tmp}"
REPS="${BENCH_REPS:-5}"
BUCKET="recsync-bench"
NEED_FREE_GIB=3

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive number"

for tool in python3 fusermount3 dd; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH"
done
python3 -c 'import boto3' 2>/dev/null || die "python3 cannot import boto3"

# ------------------------------------------------------------------ build
if [[ -n "${RECSYNC_BIN:-}" ]]; then
    BIN="$(cd "$(dirname "$RECSYNC_BIN")" && pwd)/$(basename "$RECSYNC_BIN")"
    [[ -x "$BIN" ]] || die "RECSYNC_BIN=$RECSYNC_BIN is not an executable"
else
    command -v swift >/dev/null 2>&1 || die "swift not found; install a Swift 6 toolchain or set RECSYNC_BIN"
    log "building recsync (release)"
    (cd "$REPO_ROOT" && swift build -c release --scratch-path .build-bench) >&2 || die "build failed"
    BIN="$REPO_ROOT/.build-bench/release/recsync"
fi
VERSION="$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
if [[ -n "${RECSYNC_BIN:-}" ]]; then
    VERSION="RECSYNC_BIN built $(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ), tree now $VERSION"
fi

# ------------------------------------------------------------------ scratch
mkdir -p "$WORK_PARENT"
WORK="$(mktemp -d "$WORK_PARENT/recsync-bench.XXXXXX")"
MNT="$WORK/mnt"
NATIVE="$WORK/native"
STATE="$WORK/state"
SERVERS="$WORK/servers"
mkdir -p "$MNT" "$NATIVE" "$STATE" "$SERVERS"

SERVER_PID=""
SERVER_VIA=""
MOUNTED=0

is_mounted() { grep -qF " $1 " /proc/self/mountinfo; }

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if ((MOUNTED)) && is_mounted "$MNT"; then
        log "unmounting $MNT"
        if ! "$BIN" unmount "$MNT" --timeout 30; then
            log "recsync unmount failed; trying fusermount3 -u"
            fusermount3 -u "$MNT" || fusermount3 -uz "$MNT"
        fi
    fi
    case "$SERVER_VIA" in
        moto.sh) RECSYNC_SERVERS_DIR="$SERVERS" "$REPO_ROOT/scripts/servers/moto.sh" stop >/dev/null 2>&1 ;;
        own)
            if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
                kill "$SERVER_PID"
                wait "$SERVER_PID" 2>/dev/null
            fi
            ;;
    esac
    if is_mounted "$MNT"; then
        log "$MNT is still mounted; leaving $WORK in place"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_gib=$(($(df -Pk "$WORK" | awk 'NR==2 {print $4}') / 1024 / 1024))
((free_gib >= NEED_FREE_GIB)) || die "only ${free_gib} GiB free under $WORK_PARENT, need $NEED_FREE_GIB"

# ------------------------------------------------------------------ S3 server
read_env_file() {
    local key value
    while IFS='=' read -r key value; do
        case "$key" in
            RECSYNC_TEST_MOTO_ENDPOINT) ENDPOINT="$value" ;;
            RECSYNC_TEST_MOTO_ACCESS_KEY) export AWS_ACCESS_KEY_ID="$value" ;;
            RECSYNC_TEST_MOTO_SECRET_KEY) export AWS_SECRET_ACCESS_KEY="$value" ;;
            RECSYNC_TEST_MOTO_REGION) export AWS_DEFAULT_REGION="$value" ;;
        esac
    done <"$1"
}

ENDPOINT=""
MOTO_SH="$REPO_ROOT/scripts/servers/moto.sh"
case "${BENCH_S3:-moto}" in
    moto | plain) ;;
    *) die "BENCH_S3 must be moto or plain" ;;
esac
if [[ "${BENCH_S3:-moto}" == moto && -f "$MOTO_SH" ]]; then
    log "starting moto with scripts/servers/moto.sh"
    if RECSYNC_SERVERS_DIR="$SERVERS" bash "$MOTO_SH" start 2>"$WORK/moto-start.log" \
        && [[ -s "$SERVERS/moto.env" ]]; then
        SERVER_VIA=moto.sh
        read_env_file "$SERVERS/moto.env"
        SERVER_PID="$(cat "$SERVERS/moto/moto.pid" 2>/dev/null || true)"
        SERVER_DESC="moto $(python3 -c 'import moto; print(moto.__version__)') via scripts/servers/moto.sh (SigV4 checked), $ENDPOINT"
    else
        log "scripts/servers/moto.sh did not start a server; starting moto_server directly"
        sed 's/^/    /' "$WORK/moto-start.log" >&2 || true
        RECSYNC_SERVERS_DIR="$SERVERS" bash "$MOTO_SH" stop >/dev/null 2>&1 || true
    fi
fi
if [[ -z "$ENDPOINT" ]]; then
    command -v moto_server >/dev/null 2>&1 || die "moto_server not found"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    ENDPOINT="http://127.0.0.1:$port"
    moto_server -H 127.0.0.1 -p "$port" >"$WORK/moto.log" 2>&1 &
    SERVER_PID=$!
    SERVER_VIA=own
    # moto without auth accepts any key pair.
    export AWS_ACCESS_KEY_ID="bench" AWS_SECRET_ACCESS_KEY="bench" AWS_DEFAULT_REGION="us-east-1"
    for _ in $(seq 100); do
        curl -fsS -o /dev/null --max-time 2 "$ENDPOINT/moto-api/data.json" 2>/dev/null && break
        kill -0 "$SERVER_PID" 2>/dev/null || die "moto_server exited: $(tail -n 5 "$WORK/moto.log")"
        sleep 0.2
    done
    SERVER_DESC="moto $(python3 -c 'import moto; print(moto.__version__)') (moto_server, no auth), $ENDPOINT"
fi
log "S3 server at $ENDPOINT (pid ${SERVER_PID:-?})"
python3 "$BENCH_DIR/bench.py" create-bucket --endpoint "$ENDPOINT" --bucket "$BUCKET" || die "cannot create the bucket"

# ------------------------------------------------------------------ mount
# Defaults only, whatever the machine has in /etc or ~/.config; except the settle delay (1 s by
# default, on purpose), which would otherwise be all that close -> visible measures.
printf '[sync]\nsettle_delay = 0\n' >"$WORK/recsync.toml"
log "mounting recsync over $MNT"
"$BIN" mount "$MNT" --bucket "$BUCKET" --endpoint "$ENDPOINT" --state-dir "$STATE" \
    --config "$WORK/recsync.toml" || die "recsync mount failed; log: $(tail -n 20 "$STATE/recsync.log" 2>/dev/null)"
MOUNTED=1
is_mounted "$MNT" || die "recsync mount returned 0 but $MNT is not mounted"

# The daemon's pid, for CPU sampling and to notice a crash.
RECSYNC_PID="$(python3 - "$MNT" "$BIN" <<'EOF'
import os, sys
mnt, binary = sys.argv[1], os.path.realpath(sys.argv[2])
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        exe = os.path.realpath(f"/proc/{pid}/exe")
    except OSError:
        continue
    args = [a.decode(errors="replace") for a in argv]
    if exe == binary and "mount" in args and mnt in args and "--foreground" in args:
        print(pid)
        break
EOF
)"
[[ -n "$RECSYNC_PID" ]] || die "cannot find the recsync background process for $MNT"
log "recsync running as pid $RECSYNC_PID"

# ------------------------------------------------------------------ measure
mkdir -p "$RESULTS_DIR"
set +e
python3 "$BENCH_DIR/bench.py" run \
    --mount "$MNT" --native "$NATIVE" --endpoint "$ENDPOINT" --bucket "$BUCKET" \
    --recsync-pid "$RECSYNC_PID" --server-pid "${SERVER_PID:-0}" --server-desc "$SERVER_DESC" \
    --recsync-version "$VERSION" --reps "$REPS" ${BENCH_ONLY:+--only "$BENCH_ONLY"} \
    --json "$RESULTS_DIR/latest.json"
status=$?
set -e

if ! kill -0 "$RECSYNC_PID" 2>/dev/null; then
    log "the recsync process is gone; end of its log:"
    tail -n 30 "$STATE/recsync.log" >&2 || true
    status=1
fi
if grep -qE '^[^ ]+ (warning|error|critical) ' "$STATE/recsync.log"; then
    log "recsync logged $(grep -cE '^[^ ]+ (warning|error|critical) ' "$STATE/recsync.log") warnings/errors; the last ones:"
    grep -E '^[^ ]+ (warning|error|critical) ' "$STATE/recsync.log" | tail -n 3 | cut -c1-400 >&2
fi
log "results: ${RESULTS_DIR#"$REPO_ROOT"/}/latest.json"
exit "$status"
