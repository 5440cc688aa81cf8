#!/usr/bin/env bash
# Checks the running test servers the way a client sees them.
#
#   scripts/servers/selftest.sh [moto|rgw]...   (default: every server whose
#                                                env file exists)
#
# For each server: with the aws cli, create a bucket, put an object, get it
# back, and check that a wrong secret is rejected; then check that a payload
# hash mismatch is rejected (reported, not fatal, for moto which does not
# verify it) and run check-streaming.py.
set -euo pipefail

LOG_TAG=selftest
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

command -v aws >/dev/null 2>&1 || die "aws cli not found (run scripts/install-deps.sh)"
PY="$(python_bin)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# Keep the user's aws configuration out of the way.
export AWS_CONFIG_FILE="$TMP/aws-config" AWS_SHARED_CREDENTIALS_FILE="$TMP/aws-credentials"
export AWS_EC2_METADATA_DISABLED=true AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1

check_server() {
    local name="$1" prefix env_file endpoint ak sk region bucket
    case "$name" in
        moto) prefix=RECSYNC_TEST_MOTO ;;
        rgw) prefix=RECSYNC_TEST_RGW ;;
        *) die "unknown server '$name' (moto|rgw)" ;;
    esac
    env_file="$SERVERS_DIR/$name.env"
    [[ -s "$env_file" ]] || die "$env_file not found: start the server first"
    # shellcheck disable=SC1090
    source "$env_file"
    local v
    v="${prefix}_ENDPOINT"; endpoint="${!v}"
    v="${prefix}_ACCESS_KEY"; ak="${!v}"
    v="${prefix}_SECRET_KEY"; sk="${!v}"
    v="${prefix}_REGION"; region="${!v}"
    bucket="selftest-$(date +%s)-$RANDOM"

    log "== $name at $endpoint (region $region)"
    local -a awsc=(aws --endpoint-url "$endpoint" --region "$region" --output text)
    head -c 300000 /dev/urandom >"$TMP/object"

    AWS_ACCESS_KEY_ID="$ak" AWS_SECRET_ACCESS_KEY="$sk" \
        "${awsc[@]}" s3api create-bucket --bucket "$bucket" >/dev/null
    AWS_ACCESS_KEY_ID="$ak" AWS_SECRET_ACCESS_KEY="$sk" \
        "${awsc[@]}" s3api put-object --bucket "$bucket" --key dir/object --body "$TMP/object" >/dev/null
    AWS_ACCESS_KEY_ID="$ak" AWS_SECRET_ACCESS_KEY="$sk" \
        "${awsc[@]}" s3api get-object --bucket "$bucket" --key dir/object "$TMP/back" >/dev/null
    cmp -s "$TMP/object" "$TMP/back" || die "$name: object read back differs"
    log "$name: aws cli create-bucket/put-object/get-object: ok"

    # --debug: the error code is read from the logged response body (aws cli
    # v1 trips over radosgw's empty <Message> when formatting the error).
    if AWS_ACCESS_KEY_ID="$ak" AWS_SECRET_ACCESS_KEY="wrong${sk:5}" \
        "${awsc[@]}" --debug s3api list-objects-v2 --bucket "$bucket" >"$TMP/out" 2>&1; then
        die "$name: request with a wrong secret was accepted"
    fi
    local code
    code="$(grep -Eo '<Code>(SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied)</Code>' "$TMP/out" | head -1)" ||
        die "$name: wrong secret failed for another reason: $(tail -n 5 "$TMP/out")"
    log "$name: wrong secret rejected: $code"

    local rc=0
    "$PY" "$SERVERS_SCRIPT_DIR/s3check.py" sha256-mismatch "$endpoint" "$ak" "$sk" "$region" "$bucket" ||
        rc=$?
    if ((rc != 0)) && [[ "$name" == rgw ]]; then
        die "$name: a wrong x-amz-content-sha256 was not rejected with XAmzContentSHA256Mismatch"
    fi

    log "$name: payload schemes (check-streaming.py):"
    "$PY" "$SERVERS_SCRIPT_DIR/check-streaming.py" "$endpoint" "$ak" "$sk" "$region" "$bucket" ||
        die "$name: streaming (aws-chunked) upload failed"
}

servers=("$@")
if ((${#servers[@]} == 0)); then
    for s in moto rgw; do
        [[ -s "$SERVERS_DIR/$s.env" ]] && servers+=("$s")
    done
    ((${#servers[@]} > 0)) || die "no server env file in $SERVERS_DIR: start the servers first"
fi
for s in "${servers[@]}"; do
    check_server "$s"
done
log "all checks passed: ${servers[*]}"
