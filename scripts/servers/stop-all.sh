#!/usr/bin/env bash
# Stops every local test server started by start-all.sh (or individually)
# and removes their state. Safe to run when nothing is running.
set -euo pipefail

LOG_TAG=stop-all
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

export RECSYNC_SERVERS_DIR="$SERVERS_DIR"
rc=0
"$SERVERS_SCRIPT_DIR/radosgw.sh" stop || rc=1
"$SERVERS_SCRIPT_DIR/moto.sh" stop || rc=1
rm -f "$SERVERS_DIR/servers.env"
exit "$rc"
