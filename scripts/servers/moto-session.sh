# shellcheck shell=bash
# Sourced by scripts that need one moto server of their own (scripts/demo.sh,
# scripts/hot-code/generate.sh): starts it in RECSYNC_SERVERS_DIR (which the caller sets) and
# exports its endpoint (RECSYNC_TEST_MOTO_*) and its throwaway credentials as AWS_* for recsync
# and the AWS CLI. The caller stops it with `bash scripts/servers/moto.sh stop`.
bash "$(dirname "${BASH_SOURCE[0]}")/moto.sh" start
set -a
# shellcheck disable=SC1091
source "$RECSYNC_SERVERS_DIR/moto.env"
set +a
export AWS_ACCESS_KEY_ID="$RECSYNC_TEST_MOTO_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$RECSYNC_TEST_MOTO_SECRET_KEY"
export AWS_DEFAULT_REGION=us-east-1
