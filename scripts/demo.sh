#!/usr/bin/env bash
# The whole recsync path on this machine, end to end, with nothing to configure:
# a local S3-compatible server (moto) on 127.0.0.1, a folder mounted with recsync, a recording
# made into it with sox, and its status read back with getfattr until the server has it.
#
#   scripts/demo.sh          run the demo, then unmount and stop the server
#   scripts/demo.sh --keep   leave the mount and the server running to try things by hand
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"
KEEP=0
[[ "${1:-}" == "--keep" ]] && KEEP=1

bash scripts/install-deps.sh
echo "[demo] building recsync"
swift build --product recsync
BIN="$(swift build --show-bin-path)/recsync"

DEMO="$PWD/demo"
MOUNT="$DEMO/Recordings"
export RECSYNC_SERVERS_DIR="$DEMO/.servers"
mkdir -p "$MOUNT"
if grep -q " $MOUNT " /proc/self/mountinfo; then "$BIN" unmount "$MOUNT"; fi

# shellcheck source=scripts/servers/moto-session.sh
source scripts/servers/moto-session.sh
BUCKET=recsync-demo
aws --endpoint-url "$RECSYNC_TEST_MOTO_ENDPOINT" s3 mb "s3://$BUCKET" >/dev/null 2>&1 || true

finish() {
    if [[ $KEEP == 0 ]]; then
        grep -q " $MOUNT " /proc/self/mountinfo && "$BIN" unmount "$MOUNT"
        bash scripts/servers/moto.sh stop
    fi
}
trap finish EXIT

echo "[demo] recsync mount $MOUNT --bucket $BUCKET --endpoint $RECSYNC_TEST_MOTO_ENDPOINT"
"$BIN" mount "$MOUNT" --bucket "$BUCKET" --endpoint "$RECSYNC_TEST_MOTO_ENDPOINT" --state-dir "$DEMO/state"

NAME="take-$(date +%H%M%S).wav"
echo "[demo] recording 5 s into $MOUNT/$NAME with sox"
sox -n -r 48000 -c 2 -b 24 "$MOUNT/$NAME" synth 5 pluck C3 pluck E3 pluck G3 fade 0 5 1

last=""
for _ in $(seq 1 200); do
    status="$(getfattr --only-values -n user.sync.status "$MOUNT/$NAME" 2>/dev/null || echo '?')"
    if [[ "$status" != "$last" ]]; then echo "[demo] user.sync.status = $status"; last="$status"; fi
    [[ "$status" == synced ]] && break
    sleep 0.05
done
echo "[demo] getfattr -d -m - $MOUNT/$NAME"
getfattr -d -m - --absolute-names "$MOUNT/$NAME"
echo "[demo] in the bucket:"
aws --endpoint-url "$RECSYNC_TEST_MOTO_ENDPOINT" s3 ls --recursive "s3://$BUCKET/"
[[ "$last" == synced ]] || { echo "[demo] the recording did not reach synced; see $DEMO/state/recsync.log" >&2; exit 1; }
if [[ $KEEP == 1 ]]; then
    echo "[demo] still mounted at $MOUNT; stop with: $BIN unmount $MOUNT && RECSYNC_SERVERS_DIR=$RECSYNC_SERVERS_DIR scripts/servers/moto.sh stop"
fi
