#!/usr/bin/env bash
# Runs the whole recsync test suite on a Debian machine, as root:
#   installs the Debian and Python packages the tests need, builds, starts the local S3
#   servers (moto and a one-node Ceph radosgw on 127.0.0.1), runs `swift test`, stops the servers;
#   without arguments it then runs the benchmark harness at tiny sizes (bench/run --quick) and every
#   fuzz target under libFuzzer for a few seconds.
#
#   scripts/test.sh [extra swift test arguments, e.g. --filter RecsyncStoreTests]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"

bash scripts/install-deps.sh
echo "[test] building (debug, with tests)"
swift build --build-tests
# The man page generator from swift-argument-parser, for InstallTests (make install).
swift build --product generate-manual

cleanup() {
    # Unmount anything a failed test left behind (only our own test mounts), then stop the servers.
    local status=$?
    { grep -o ' /[^ ]*/recsync-it-[^ ]*/Recordings ' /proc/self/mountinfo 2>/dev/null || true; } | while read -r m; do
        fusermount3 -uz "$m" || true
    done
    bash scripts/servers/stop-all.sh || true
    exit "$status"
}
trap cleanup EXIT

bash scripts/servers/start-all.sh
set -a
# shellcheck disable=SC1091
source .servers/servers.env
set +a
echo "[test] running swift test"
log="$(mktemp)"
status=0
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log" || status=$?
summary="$(grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -1 || true)"
rm -f "$log"
if [[ -z "$summary" ]]; then
    echo "[test] no XCTest summary found: the test run did not complete" >&2
    exit 1
fi
total="$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")"
failed="$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")"
echo "$((total - failed)) passed, $failed failed"
if [[ $# -eq 0 ]]; then
    # The benchmark harness end to end at tiny sizes, with its own S3 server and scratch folder:
    # a check that it works, not of the timings (they depend on the machine). It runs the binary
    # `make` builds (release, the Swift runtime linked in), so that one is exercised too: mounted,
    # written into, uploaded and checked against the server.
    echo "[test] release build as make builds it, then benchmark harness smoke: bench/run --quick"
    if make build; then
        python3 scripts/hot-code/order.py --check .build/release/recsync scripts/hot-code/functions.order || true
        RECSYNC_BIN=.build/release/recsync python3 bench/run --quick --results .build/test-artifacts/bench || status=1
    else
        echo "[test] make build failed" >&2
        status=1
    fi
    # The whole suite also gets a short coverage-guided run of every fuzz target.
    echo "[test] libFuzzer smoke: every fuzz target for 5 s (scripts/libfuzzer.sh)"
    bash scripts/libfuzzer.sh 5 || status=1
fi
exit "$status"
