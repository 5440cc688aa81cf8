#!/usr/bin/env bash
# Regenerates scripts/hot-code/functions.order, the functions lld puts first in the recsync binary
# (the Makefile passes it as --symbol-ordering-file; docs/PERFORMANCE.md, Memory).
#
# The kernel maps a program's code in 64 KiB windows around each page it runs. When the 1.5 MiB
# of functions a daemon runs are spread over 11 MB of code, most of the code ends up resident;
# packed together they fill a few dozen windows.
#
# It builds recsync as `make build` does, with a link map, then runs the daemon and the commands
# people use under valgrind's callgrind (which records every function that runs) against a local
# moto server, through an ordinary session: a mount over a folder that already holds recordings,
# small and multipart uploads, renames, links, attributes, metrics, status, a second mount
# started the usual way with the other upload checksum and without kernel passthrough, and
# unmounts. The functions that ran, less those the linker cannot move (they share a large section
# with other code: see order.py), are the list, the daemon's first. Needs valgrind (apt-get install
# valgrind), python3, curl and moto (scripts/install-deps.sh); takes a few minutes.
#
#   scripts/hot-code/generate.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"
command -v valgrind >/dev/null || { echo "hot-code: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

WORK="$(mktemp -d /tmp/recsync-hot-code.XXXXXX)"
ORDER="scripts/hot-code/functions.order"
BIN="$WORK/recsync"
MNT="$WORK/Recordings"
export RECSYNC_SERVERS_DIR="$WORK/.servers"
DAEMON=""

cleanup() {
    set +e
    if grep -qF " $MNT " /proc/self/mountinfo; then fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"; fi
    [[ -n "$DAEMON" ]] && kill "$DAEMON" 2>/dev/null
    bash scripts/servers/moto.sh stop >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

# As `make build` builds it (whatever LAYOUT the environment holds), with a link map that names
# the section each function lies in.
env -u LAYOUT make recsync SWIFTFLAGS="-Xlinker -Map=$WORK/recsync.map -Xlinker --no-demangle"
# valgrind 3.19 cannot read the DWARF 5 the toolchain writes; the symbol table is all it needs.
strip -g -o "$BIN" .build/release/recsync

# shellcheck source=scripts/servers/moto-session.sh
source scripts/servers/moto-session.sh
python3 -c "import boto3; boto3.client('s3', endpoint_url='$RECSYNC_TEST_MOTO_ENDPOINT').create_bucket(Bucket='hot-code')"

fail() {
    echo "hot-code: $1" >&2
    tail -n 20 "$WORK"/daemon*.log >&2 2>/dev/null || true
    exit 1
}
# Every run under callgrind: mangled names (as nm and lld give them), one profile per process.
CALLGRIND=(valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/cg.%p")
grind() { "${CALLGRIND[@]}" "$@"; }
# Waits until the daemon whose PID is in DAEMON has ended (it writes its profile as it ends).
wait_daemon_gone() {
    for _ in $(seq 1 1500); do
        kill -0 "$DAEMON" 2>/dev/null || { DAEMON=""; return 0; }
        sleep 0.2
    done
    fail "the daemon did not stop after unmount"
}
wait_mounted() {
    for _ in $(seq 1 600); do
        grep -qF " $MNT " /proc/self/mountinfo && return 0
        [[ -n "$DAEMON" ]] && ! kill -0 "$DAEMON" 2>/dev/null && break
        sleep 0.2
    done
    fail "the mount did not come up"
}
wait_synced() {
    python3 - "$MNT" <<'PY' || fail "uploads did not finish"
import os, sys, time
def unsynced(root):
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.islink(path) and os.getxattr(path, "user.sync.status") != b"synced":
                yield path
deadline = time.monotonic() + 600
while any(unsynced(sys.argv[1])):
    if time.monotonic() > deadline:
        sys.exit("not synced: " + ", ".join(unsynced(sys.argv[1])))
    time.sleep(0.5)
PY
}

# Recordings already in the folder: the start-up scan queues them.
mkdir -p "$MNT/earlier"
for i in $(seq 1 20); do head -c 3000 /dev/urandom > "$MNT/earlier/take$i.wav"; done
# shellcheck source=scripts/servers/lib.sh
source scripts/servers/lib.sh
METRICS_PORT=$(free_port)
cat > "$WORK/first.toml" <<TOML
user_id = "hot"
metrics_address = "127.0.0.1:$METRICS_PORT"
[sync]
chunk_size = "5MiB"
TOML
cat > "$WORK/second.toml" <<TOML
user_id = "hot"
kernel_passthrough = false
[sync]
upload_checksum = "crc32c"
mirror_deletes = true
TOML

session() {
    python3 - "$MNT" <<'PY'
import os, sys
mnt = sys.argv[1]
os.makedirs(f"{mnt}/session/a", exist_ok=True)
for i in range(40):
    with open(f"{mnt}/session/a/clip{i}.wav", "wb") as f:
        f.write(os.urandom(1000 + i * 100))
with open(f"{mnt}/session/long.wav", "wb") as f:
    for _ in range(12):
        f.write(os.urandom(1 << 20))
    f.flush()
    os.fsync(f.fileno())
with open(f"{mnt}/session/small4k.raw", "wb") as f:
    for _ in range(64):
        f.write(b"\0" * 4096)
with open(f"{mnt}/session/long.wav", "rb") as f:
    f.read(1 << 16)
os.rename(f"{mnt}/session/a/clip0.wav", f"{mnt}/session/a/renamed.wav")
os.symlink("renamed.wav", f"{mnt}/session/a/link.wav")
os.link(f"{mnt}/session/a/clip1.wav", f"{mnt}/session/a/hard.wav")
os.unlink(f"{mnt}/session/a/clip2.wav")
os.chmod(f"{mnt}/session/a/clip3.wav", 0o600)
os.truncate(f"{mnt}/session/a/clip4.wav", 10)
os.utime(f"{mnt}/session/a/clip5.wav", (1, 1))
os.setxattr(f"{mnt}/session/a/clip6.wav", "user.comment", b"take six")
for name in sorted(os.listdir(f"{mnt}/session/a")):
    path = f"{mnt}/session/a/{name}"
    os.lstat(path)
    if not os.path.islink(path):
        os.listxattr(path)
        os.getxattr(path, "user.sync.status")
os.statvfs(mnt)
os.makedirs(f"{mnt}/session/empty")
os.rmdir(f"{mnt}/session/empty")
PY
    getfattr --absolute-names -d -m - "$MNT/session/long.wav" >/dev/null
}

# 1. The daemon alone, as systemd and mount(8) start it: in the foreground. valgrind runs it in
# its own process, so $! is the daemon.
"${CALLGRIND[@]}" "$BIN" mount "$MNT" --foreground \
    --bucket hot-code --endpoint "$RECSYNC_TEST_MOTO_ENDPOINT" --state-dir "$WORK/state" --config "$WORK/first.toml" \
    2> "$WORK/daemon1.log" &
DAEMON=$!
wait_mounted
session
wait_synced
curl -sf --max-time 60 "http://127.0.0.1:$METRICS_PORT/metrics" >/dev/null
grind "$BIN" status "$MNT" >/dev/null
grind "$BIN" queue "$MNT" >/dev/null
grind "$BIN" events "$MNT" --state-dir "$WORK/state" >/dev/null
grind "$BIN" sync-now "$MNT" >/dev/null
grind "$BIN" unmount "$MNT" --timeout 300 >/dev/null
wait_daemon_gone

# 2. The front command that starts the daemon, the other checksum, no passthrough, deletes.
"${CALLGRIND[@]}" --trace-children=yes "$BIN" mount "$MNT" \
    --bucket hot-code --endpoint "$RECSYNC_TEST_MOTO_ENDPOINT" --state-dir "$WORK/state" --config "$WORK/second.toml" \
    2> "$WORK/daemon2.log"
DAEMON="$(pgrep -f -- "$BIN mount $MNT .*--foreground" | head -n 1 || true)"
[[ -n "$DAEMON" ]] || fail "the daemon of the second mount is not running"
wait_mounted
echo "more" >> "$MNT/earlier/take1.wav"
rm "$MNT/earlier/take2.wav"
mv "$MNT/earlier/take3.wav" "$MNT/earlier/take3b.wav"
head -c 200000 /dev/urandom > "$MNT/earlier/new.wav"
wait_synced
grind "$BIN" --version >/dev/null
timeout 300 "${CALLGRIND[@]}" "$BIN" drain "$MNT" >/dev/null
grind "$BIN" unmount "$MNT" --timeout 300 >/dev/null
wait_daemon_gone

python3 scripts/hot-code/order.py --map "$WORK/recsync.map" "$BIN" "$WORK"/cg.* > "$WORK/functions.order"
mv "$WORK/functions.order" "$ORDER"
# The list is no source file: make the next `make build` link again with it.
rm -f .build/release/recsync
echo "hot-code: $(wc -l < "$ORDER") functions in $ORDER; run make build to link with them"
