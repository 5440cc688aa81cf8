#!/usr/bin/env bash
# Starts every local test server and writes a combined env file.
#
#   scripts/servers/start-all.sh
#
# Afterwards a test runner can do:
#   set -a; source "${RECSYNC_SERVERS_DIR:-<repo>/.servers}/servers.env"; set +a
# Stop everything with scripts/servers/stop-all.sh.
# If one server fails to start, the ones already started are stopped again.
set -euo pipefail

LOG_TAG=start-all
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ensure_servers_dir
export RECSYNC_SERVERS_DIR="$SERVERS_DIR"
COMBINED="$SERVERS_DIR/servers.env"
rm -f "$COMBINED"

t0=$(date +%s)
if ! "$SERVERS_SCRIPT_DIR/moto.sh" start; then
    die "moto failed to start"
fi
t1=$(date +%s)
if ! "$SERVERS_SCRIPT_DIR/radosgw.sh" start; then
    "$SERVERS_SCRIPT_DIR/moto.sh" stop || true
    die "radosgw failed to start"
fi
t2=$(date +%s)

umask 077
{
    echo "# Local S3 test servers, written by scripts/servers/start-all.sh"
    echo "RECSYNC_SERVERS_DIR=$SERVERS_DIR"
    cat "$SERVERS_DIR/moto.env" "$SERVERS_DIR/rgw.env"
} >"$COMBINED.tmp"
mv "$COMBINED.tmp" "$COMBINED"
log "moto ready in $((t1 - t0))s, radosgw in $((t2 - t1))s; env: $COMBINED"
