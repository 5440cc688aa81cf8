#!/usr/bin/env python3
"""Small S3 helpers for the local test servers (moto, radosgw).

Subcommands:
  bootstrap-moto ENDPOINT            create an IAM user with full access and
                                     an access key while moto still accepts
                                     unauthenticated actions; prints
                                     "ACCESS_KEY SECRET_KEY"
  auth ENDPOINT AK SK REGION         a signed ListBuckets succeeds, a wrong
                                     secret and an unknown key are rejected
  sha256-mismatch ENDPOINT AK SK REGION BUCKET
                                     a PUT whose x-amz-content-sha256 does
                                     not match its body is rejected (prints
                                     the error code)
  region ENDPOINT AK SK              prints which SigV4 regions the server
                                     accepts for a simple bucket round trip

Every check exits non-zero with a message on stderr when it fails.
"""

import hashlib
import sys
import uuid

import boto3
import botocore
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError


def client(service, endpoint, ak, sk, region):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id=ak,
        aws_secret_access_key=sk,
        region_name=region,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def fail(msg):
    print(f"s3check: {msg}", file=sys.stderr)
    sys.exit(1)


def error_code(exc):
    return exc.response.get("Error", {}).get("Code", "?")


def bootstrap_moto(endpoint):
    # Credentials are not checked yet; any value signs the request.
    iam = client("iam", endpoint, "bootstrap", "bootstrap", "us-east-1")
    user = "recsync-test"
    iam.create_user(UserName=user)  # unauthenticated action 1
    iam.put_user_policy(  # unauthenticated action 2
        UserName=user,
        PolicyName="full-access",
        PolicyDocument=(
            '{"Version":"2012-10-17","Statement":'
            '[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
        ),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]  # action 3
    print(key["AccessKeyId"], key["SecretAccessKey"])


def check_auth(endpoint, ak, sk, region):
    good = client("s3", endpoint, ak, sk, region)
    try:
        good.list_buckets()
    except ClientError as e:
        fail(f"ListBuckets with the real key failed: {error_code(e)}")

    bad_secret = client("s3", endpoint, ak, sk[:-4] + "XXXX", region)
    try:
        bad_secret.list_buckets()
        fail("ListBuckets signed with a wrong secret was ACCEPTED (auth is off)")
    except ClientError as e:
        code = error_code(e)
        if code not in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"):
            fail(f"wrong secret rejected with unexpected code {code}")
        print(f"wrong secret: rejected ({code})")

    unknown = client("s3", endpoint, "AKIA" + "Z" * 16, sk, region)
    try:
        unknown.list_buckets()
        fail("ListBuckets with an unknown access key was ACCEPTED (auth is off)")
    except ClientError as e:
        print(f"unknown access key: rejected ({error_code(e)})")


def signed_put(endpoint, ak, sk, region, bucket, key, body, payload_hash):
    url = f"{endpoint.rstrip('/')}/{bucket}/{key}"
    req = AWSRequest(
        method="PUT",
        url=url,
        data=body,
        headers={
            "x-amz-content-sha256": payload_hash,
            "Content-Length": str(len(body)),
        },
    )
    SigV4Auth(Credentials(ak, sk), "s3", region).add_auth(req)
    prepared = req.prepare()
    return requests.put(url, data=body, headers=dict(prepared.headers), timeout=30)


def check_sha256_mismatch(endpoint, ak, sk, region, bucket):
    s3 = client("s3", endpoint, ak, sk, region)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)

    body = b"recsync payload\n"
    good_hash = hashlib.sha256(body).hexdigest()
    wrong_hash = hashlib.sha256(b"something else").hexdigest()

    r = signed_put(endpoint, ak, sk, region, bucket, "sha-good", body, good_hash)
    if r.status_code != 200:
        fail(f"PUT with a correct x-amz-content-sha256 failed: {r.status_code} {r.text[:300]}")

    r = signed_put(endpoint, ak, sk, region, bucket, "sha-bad", body, wrong_hash)
    if r.status_code == 200:
        print("sha256 mismatch: ACCEPTED (server does not verify the payload hash)")
        return 2
    code = "?"
    if "<Code>" in r.text:
        code = r.text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    print(f"sha256 mismatch: rejected (HTTP {r.status_code} {code})")
    return 0 if code == "XAmzContentSHA256Mismatch" else 3


def check_region(endpoint, ak, sk):
    ok = []
    for region in ("us-east-1", "default"):
        s3 = client("s3", endpoint, ak, sk, region)
        bucket = f"region-probe-{uuid.uuid4().hex[:8]}"
        try:
            s3.create_bucket(Bucket=bucket) if region == "us-east-1" else s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
            s3.put_object(Bucket=bucket, Key="k", Body=b"x")
            assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
            s3.delete_object(Bucket=bucket, Key="k")
            s3.delete_bucket(Bucket=bucket)
            ok.append(region)
            print(f"region {region}: ok")
        except (ClientError, AssertionError, botocore.exceptions.BotoCoreError) as e:
            print(f"region {region}: failed ({e})")
    if not ok:
        fail("no region worked")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "bootstrap-moto" and len(args) == 1:
        bootstrap_moto(*args)
    elif cmd == "auth" and len(args) == 4:
        check_auth(*args)
    elif cmd == "sha256-mismatch" and len(args) == 5:
        return check_sha256_mismatch(*args)
    elif cmd == "region" and len(args) == 3:
        check_region(*args)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
