#!/usr/bin/env bash
# Fuzzes every parser of outside input for a while (see Tests/RecsyncCoreTests/Fuzzer.swift):
# HTTP dates, the S3 XML readers, metadata decoding, config files (TOML), audio headers,
# key patterns and names, SigV4 canonicalisation.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     default 60
#
# The test suite runs the same targets for 1 s each. A crash stops the run; the input that
# caused it is in Tests/fuzz/last-input-TARGET: add it to Tests/fuzz/corpus/TARGET/ as a
# regression once the parser is fixed. RECSYNC_FUZZ_SEED=N replays a run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"
export RECSYNC_FUZZ_SECONDS="${1:-60}"
swift build --build-tests
swift test --skip-build --disable-swift-testing --filter 'RecsyncCoreTests.FuzzTests' 2>&1 | grep -E "fuzz |error|crashed|Executed"
