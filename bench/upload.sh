#!/usr/bin/env bash
# Upload benchmark: recsync's daemon vs. `aws s3 cp`, same file, same server.
#
#   bench/upload.sh
#
# Builds recsync (release), starts a local S3 server on 127.0.0.1, mounts
# recsync over a fresh folder and measures, for a 1 GiB file of random bytes,
# the CPU time per GiB and the wall time of recsync's upload and of
# `aws s3 cp` (medians of 3 runs), then the daemon's peak RSS during a 4 GiB
# upload. Prints a table and writes bench/results/upload-latest.json.
# See bench/README.md for what is measured and how.
#
# Environment:
#   RECSYNC_BIN        use this recsync binary instead of building one
#   BENCH_S3           moto (default): scripts/servers/moto.sh;
#                      rgw: Ceph + radosgw via scripts/servers/radosgw.sh (root)
#   BENCH_WORK_PARENT  where the scratch folder is created (default /var/tmp)
#   BENCH_REPS         runs of the 1 GiB upload per client (default 3)
#   BENCH_SIZE_MIB     size of the CPU/wall-time file (default 1024)
#   BENCH_RSS_SIZE_MIB size of the peak-RSS file (default 4096)
#   BENCH_RSS_AWS      1 (default): also upload the big file with aws, for its RSS
#   BENCH_ONLY         comma-separated subset: upload,rss
#   BENCH_CHUNK_SIZE   part size of both clients in MiB (default 8, at least 5)
#   BENCH_RECSYNC_CONCURRENCY  recsync's max_concurrent_uploads (default: its default)
#   BENCH_JSON         where to write the results (default bench/results/upload-latest.json)
#
# Exit status: 0 when the measurements ran (targets met or not), non-zero when
# something broke (build, server, mount, an upload failed or hung, the daemon
# went away).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
RESULTS_DIR="$BENCH_DIR/results"
JSON_OUT="${BENCH_JSON:-$RESULTS_DIR/upload-latest.json}"
WORK_PARENT="${BENCH_WORK_PARENT:-/var/tmp}"
REPS="${BENCH_REPS:-3}"
SIZE_MIB="${BENCH_SIZE_MIB:-1024}"
RSS_SIZE_MIB="${BENCH_RSS_SIZE_MIB:-4096}"
CHUNK_MIB="${BENCH_CHUNK_SIZE:-8}"
S3_KIND="${BENCH_S3:-moto}"
BUCKET="recsync-bench"

log() { printf '[upload-bench] %s\n' "$*" >&2; }
die() { printf '[upload-bench] error: %s\n' "$*" >&2; exit 1; }

[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive number"
[[ "$SIZE_MIB" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZE_MIB must be a positive number"
[[ "$RSS_SIZE_MIB" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RSS_SIZE_MIB must be a positive number"
[[ "$CHUNK_MIB" =~ ^[0-9]+$ ]] && ((CHUNK_MIB >= 5)) || die "BENCH_CHUNK_SIZE must be a whole number of MiB, at least 5"
case "$S3_KIND" in
    moto | rgw) ;;
    *) die "BENCH_S3 must be moto or rgw" ;;
esac
ONLY="${BENCH_ONLY:-upload,rss}"
RUN_UPLOAD=0
RUN_RSS=0
IFS=',' read -ra only_steps <<<"$ONLY"
for step in "${only_steps[@]}"; do
    case "$step" in
        upload) RUN_UPLOAD=1 ;;
        rss) RUN_RSS=1 ;;
        *) die "BENCH_ONLY: unknown step '$step' (use upload,rss)" ;;
    esac
done

for tool in python3 fusermount3 aws curl df; do
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
WORK="$(mktemp -d "$WORK_PARENT/recsync-upload.XXXXXX")"
MNT="$WORK/mnt"
SRC="$WORK/src" # the source files, outside the mount, on the same filesystem
STATE="$WORK/state"
SERVERS="$WORK/servers"
mkdir -p "$MNT" "$SRC" "$STATE" "$SERVERS"

SERVER_SCRIPT=""
ENDPOINT=""
MOUNTED=0

is_mounted() { grep -qF " $1 " /proc/self/mountinfo; }

# Removes whatever is left in the bucket (after an interrupted run).
empty_bucket() {
    timeout 120 python3 - "$ENDPOINT" "$BUCKET" <<'EOF'
import os
import sys
import boto3
from botocore.config import Config
endpoint, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                  config=Config(s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=60))
for up in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
    s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
    for obj in page.get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
EOF
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if ((MOUNTED)) && is_mounted "$MNT"; then
        log "unmounting the mount"
        if ! "$BIN" unmount "$MNT" --timeout 30; then
            log "recsync unmount failed; trying fusermount3 -u"
            fusermount3 -u "$MNT" || fusermount3 -uz "$MNT"
        fi
    fi
    if [[ -n "$SERVER_SCRIPT" ]]; then
        if [[ -n "$ENDPOINT" ]]; then
            empty_bucket >/dev/null 2>&1
        fi
        RECSYNC_SERVERS_DIR="$SERVERS" bash "$SERVER_SCRIPT" stop >/dev/null 2>&1
    fi
    if is_mounted "$MNT"; then
        log "the mount is still there; leaving ${WORK} in place"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Disk: the source file, its copy in the mount's backing folder, and moto's
# temporary files (on the same disk here) for the biggest file, plus 2 GiB.
big_mib=0
((RUN_UPLOAD)) && big_mib=$SIZE_MIB
((RUN_RSS && RSS_SIZE_MIB > big_mib)) && big_mib=$RSS_SIZE_MIB
need_mib=$((big_mib * 3 + 2048))
free_mib=$(($(df -Pk "$WORK" | awk 'NR==2 {print $4}') / 1024))
((free_mib >= need_mib)) || die "only $((free_mib / 1024)) GiB free under $WORK_PARENT, need $((need_mib / 1024 + 1)) GiB"
log "disk: $((free_mib / 1024)) GiB free under the scratch folder, need about $((need_mib / 1024 + 1)) GiB"

# ------------------------------------------------------------------ S3 server
# read_env_file FILE PREFIX: endpoint and credentials from moto.env / rgw.env.
read_env_file() {
    local key value
    while IFS='=' read -r key value; do
        case "$key" in
            "$2"_ENDPOINT) ENDPOINT="$value" ;;
            "$2"_ACCESS_KEY) export AWS_ACCESS_KEY_ID="$value" ;;
            "$2"_SECRET_KEY) export AWS_SECRET_ACCESS_KEY="$value" ;;
            "$2"_REGION) export AWS_DEFAULT_REGION="$value" ;;
        esac
    done <"$1"
}

unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
SERVER_PIDS=""
AFTER_DELETE=""
if [[ "$S3_KIND" == moto ]]; then
    SERVER_SCRIPT="$REPO_ROOT/scripts/servers/moto.sh"
    log "starting moto with scripts/servers/moto.sh"
    RECSYNC_SERVERS_DIR="$SERVERS" bash "$SERVER_SCRIPT" start 2>"$WORK/server-start.log" \
        && [[ -s "$SERVERS/moto.env" ]] \
        || die "scripts/servers/moto.sh start failed: $(tail -n 5 "$WORK/server-start.log")"
    read_env_file "$SERVERS/moto.env" RECSYNC_TEST_MOTO
    SERVER_PIDS="$(cat "$SERVERS/moto/moto.pid")"
    SERVER_DESC="moto $(python3 -c 'import moto; print(moto.__version__)') via scripts/servers/moto.sh (SigV4 checked), $ENDPOINT"
else
    [[ "$(id -u)" == 0 ]] || die "BENCH_S3=rgw needs root (scripts/servers/radosgw.sh starts Ceph daemons)"
    SERVER_SCRIPT="$REPO_ROOT/scripts/servers/radosgw.sh"
    log "starting Ceph + radosgw with scripts/servers/radosgw.sh (takes 15-40 s)"
    RECSYNC_SERVERS_DIR="$SERVERS" bash "$SERVER_SCRIPT" start 2>"$WORK/server-start.log" \
        && [[ -s "$SERVERS/rgw.env" ]] \
        || die "scripts/servers/radosgw.sh start failed: $(tail -n 5 "$WORK/server-start.log")"
    read_env_file "$SERVERS/rgw.env" RECSYNC_TEST_RGW
    SERVER_PIDS="$(cat "$SERVERS"/rgw/run/*.pid | paste -sd, -)"
    # The OSD keeps objects in RAM, in a 1 GiB store by default: make room for
    # the biggest object plus its parts while a multipart upload completes.
    store_bytes=$(((big_mib * 2 + 1024) * 1024 * 1024))
    avail_mib=$(($(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) / 1024))
    ((avail_mib >= big_mib * 2 + 2048)) \
        || die "radosgw keeps objects in RAM: need about $(((big_mib * 2 + 2048) / 1024)) GiB available memory, have $((avail_mib / 1024)) GiB"
    ceph -c "$SERVERS/rgw/ceph.conf" --connect-timeout 10 tell osd.0 config set memstore_device_bytes "$store_bytes" \
        >"$WORK/memstore-resize.log" 2>&1 || die "could not resize the OSD's memstore: $(tail -n 3 "$WORK/memstore-resize.log")"
    # radosgw deletes an object's data later, in its garbage collection (hours
    # by default): collect right after every delete, or the store fills up.
    AFTER_DELETE="radosgw-admin -c $SERVERS/rgw/ceph.conf -n client.rgw gc process --include-all"
    SERVER_DESC="radosgw ($(ceph --version | awk '{print $3, $5}')) via scripts/servers/radosgw.sh, memstore OSD ($((store_bytes >> 30)) GiB), $ENDPOINT"
fi
[[ "$ENDPOINT" == http://127.0.0.1:* ]] || die "the S3 server is not on 127.0.0.1"
log "S3 server at $ENDPOINT (pids $SERVER_PIDS)"
python3 "$BENCH_DIR/bench.py" create-bucket --endpoint "$ENDPOINT" --bucket "$BUCKET" || die "cannot create the bucket"

# aws: the machine's ~/.aws/config does not apply; its transfer defaults are
# spelled out, with the same part size as recsync.
export AWS_CONFIG_FILE="$WORK/aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-credentials" # absent: credentials come from the environment
cat >"$AWS_CONFIG_FILE" <<EOF
[default]
region = ${AWS_DEFAULT_REGION:-us-east-1}
s3 =
    addressing_style = path
    multipart_threshold = ${CHUNK_MIB}MB
    multipart_chunksize = ${CHUNK_MIB}MB
    max_concurrent_requests = 10
EOF
TRANSFER_DESC="part size ${CHUNK_MIB} MiB for both; recsync defaults otherwise; aws max_concurrent_requests 10 (its default)"

# ------------------------------------------------------------------ mount
cat >"$WORK/recsync.toml" <<EOF
# Defaults, except the part size, which is spelled out (aws uses the same), and the settle
# delay (1 s by default, a deliberate wait after close, not upload work).
[sync]
chunk_size = "${CHUNK_MIB}MiB"
settle_delay = 0
EOF
if [[ -n "${BENCH_RECSYNC_CONCURRENCY:-}" ]]; then
    [[ "$BENCH_RECSYNC_CONCURRENCY" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RECSYNC_CONCURRENCY must be a positive number"
    echo "max_concurrent_uploads = $BENCH_RECSYNC_CONCURRENCY" >>"$WORK/recsync.toml"
    TRANSFER_DESC="$TRANSFER_DESC; recsync max_concurrent_uploads $BENCH_RECSYNC_CONCURRENCY"
fi
log "mounting recsync (part size ${CHUNK_MIB} MiB)"
"$BIN" mount "$MNT" --bucket "$BUCKET" --endpoint "$ENDPOINT" --state-dir "$STATE" \
    --config "$WORK/recsync.toml" || die "recsync mount failed; log: $(tail -n 20 "$STATE/recsync.log" 2>/dev/null)"
MOUNTED=1
is_mounted "$MNT" || die "recsync mount returned 0 but the folder is not mounted"

# The daemon's pid: /run/recsync/<mount point, systemd-escaped>.pid, checked
# against its command line; else found in /proc.
RECSYNC_PID="$(python3 - "$MNT" "$BIN" <<'EOF'
import os, sys
mnt, binary = sys.argv[1], os.path.realpath(sys.argv[2])

def escape(path):
    out = []
    for i, part in enumerate(path.strip("/").split("/")):
        s = ""
        for j, ch in enumerate(part):
            if ch.isascii() and (ch.isalnum() or ch in ":_" or (ch == "." and j > 0)):
                s += ch
            else:
                s += "".join(f"\\x{b:02x}" for b in ch.encode())
        out.append(s)
    return "-".join(out)

def is_daemon(pid):
    try:
        args = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").split("\0")
        return os.path.realpath(f"/proc/{pid}/exe") == binary and "mount" in args and mnt in args
    except OSError:
        return False

try:
    pid = open(f"/run/recsync/{escape(mnt)}.pid").read().split()[0]
    if is_daemon(pid):
        print(pid)
        sys.exit(0)
except (OSError, IndexError):
    pass
for pid in filter(str.isdigit, os.listdir("/proc")):
    if is_daemon(pid) and "--foreground" in open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"):
        print(pid)
        break
EOF
)"
[[ -n "$RECSYNC_PID" ]] || die "cannot find the recsync daemon of the mount"
log "recsync daemon: pid $RECSYNC_PID"

# ------------------------------------------------------------------ measure
set +e
python3 "$BENCH_DIR/upload.py" run \
    --mount "$MNT" --work "$SRC" --endpoint "$ENDPOINT" --bucket "$BUCKET" \
    --recsync-pid "$RECSYNC_PID" --server-pids "$SERVER_PIDS" --server-desc "$SERVER_DESC" \
    --transfer-desc "$TRANSFER_DESC" --recsync-version "$VERSION" --reps "$REPS" \
    --size-mib "$SIZE_MIB" --rss-size-mib "$RSS_SIZE_MIB" --part-size $((CHUNK_MIB * 1024 * 1024)) \
    --rss-aws "${BENCH_RSS_AWS:-1}" --only "$ONLY" --after-delete "$AFTER_DELETE" --json "$JSON_OUT"
status=$?
set -e

if ! kill -0 "$RECSYNC_PID" 2>/dev/null; then
    log "the recsync daemon is gone; end of its log:"
    tail -n 30 "$STATE/recsync.log" >&2 || true
    status=1
fi
if grep -qE '^[^ ]+ (warning|error|critical) ' "$STATE/recsync.log" 2>/dev/null; then
    log "recsync logged $(grep -cE '^[^ ]+ (warning|error|critical) ' "$STATE/recsync.log") warnings/errors; the last ones:"
    grep -E '^[^ ]+ (warning|error|critical) ' "$STATE/recsync.log" | tail -n 5 | cut -c1-400 >&2
fi
log "results: ${JSON_OUT#"$REPO_ROOT"/}"
exit "$status"
