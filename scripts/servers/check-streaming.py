#!/usr/bin/env python3
"""Checks which S3 PutObject payload schemes a server accepts and stores right.

usage: check-streaming.py ENDPOINT ACCESS_KEY SECRET_KEY REGION [BUCKET]

For each scheme it PUTs a multi-chunk body, GETs it back and compares bytes:

  sha256              x-amz-content-sha256: <hex sha256 of the body>
  unsigned            x-amz-content-sha256: UNSIGNED-PAYLOAD
  streaming-signed    x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
                      Content-Encoding: aws-chunked, one signature per chunk
                      (AWS "Transferring Payload in Multiple Chunks")
  streaming-signed-no-ce
                      same, without the Content-Encoding: aws-chunked header
  streaming-bad-sig   same, with one chunk signature corrupted: a strict
                      server rejects it
  streaming-unsigned-trailer
                      x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER
                      with an x-amz-checksum-crc32 trailer

Prints one line per scheme; exit status 0 if streaming-signed round-trips,
1 otherwise.
"""

import base64
import binascii
import hashlib
import hmac
import os
import sys
import uuid
import zlib

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK_SIZE = 64 * 1024  # AWS requires >= 8 KiB for every chunk but the last


class Server:
    def __init__(self, endpoint, ak, sk, region):
        self.endpoint = endpoint.rstrip("/")
        self.ak, self.sk, self.region = ak, sk, region

    def sign(self, method, url, headers, payload_hash):
        headers = dict(headers)
        headers["x-amz-content-sha256"] = payload_hash
        req = AWSRequest(method=method, url=url, data=b"", headers=headers)
        auth = SigV4Auth(Credentials(self.ak, self.sk), "s3", self.region)
        auth.add_auth(req)
        prepared = dict(req.prepare().headers)
        timestamp = req.context["timestamp"]
        seed = prepared["Authorization"].rsplit("Signature=", 1)[1]
        scope = f"{timestamp[:8]}/{self.region}/s3/aws4_request"
        return prepared, timestamp, scope, seed

    def signing_key(self, date):
        def h(key, msg):
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()

        k = h(("AWS4" + self.sk).encode(), date)
        k = h(k, self.region)
        k = h(k, "s3")
        return h(k, "aws4_request")

    def url(self, bucket, key=""):
        return f"{self.endpoint}/{bucket}" + (f"/{key}" if key else "")

    def request(self, method, url, body=b"", extra_headers=None, payload_hash=None):
        headers = dict(extra_headers or {})
        headers["Content-Length"] = str(len(body))
        if payload_hash is None:
            payload_hash = hashlib.sha256(body).hexdigest()
        prepared, _, _, _ = self.sign(method, url, headers, payload_hash)
        return requests.request(method, url, data=body, headers=prepared, timeout=60)


def error_of(resp):
    text = resp.text
    code = text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""
    return f"HTTP {resp.status_code} {code}".strip()


def chunked_signed_body(server, timestamp, scope, seed, data, corrupt=False):
    key = server.signing_key(timestamp[:8])
    prev = seed
    out = bytearray()
    chunks = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)] + [b""]
    for n, chunk in enumerate(chunks):
        sts = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                timestamp,
                scope,
                prev,
                EMPTY_SHA256,
                hashlib.sha256(chunk).hexdigest(),
            ]
        )
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        prev = sig
        if corrupt and n == 1:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        out += f"{len(chunk):x};chunk-signature={sig}\r\n".encode() + chunk + b"\r\n"
    return bytes(out)


def put_streaming_signed(server, bucket, key, data, corrupt=False, content_encoding=True):
    url = server.url(bucket, key)
    # The encoded length depends only on chunk sizes (signatures are 64 hex
    # chars), so compute it from a dummy encoding before signing.
    dummy = chunked_signed_body(server, "20000101T000000Z", "x", "0" * 64, data)
    headers = {
        "x-amz-decoded-content-length": str(len(data)),
        "Content-Length": str(len(dummy)),
        "Content-Type": "application/octet-stream",
    }
    if content_encoding:
        headers["Content-Encoding"] = "aws-chunked"
    prepared, timestamp, scope, seed = server.sign(
        "PUT", url, headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    )
    body = chunked_signed_body(server, timestamp, scope, seed, data, corrupt=corrupt)
    assert len(body) == len(dummy)
    return requests.put(url, data=body, headers=prepared, timeout=60)


def put_streaming_unsigned_trailer(server, bucket, key, data):
    url = server.url(bucket, key)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    out = bytearray()
    for i in range(0, len(data), CHUNK_SIZE):
        chunk = data[i : i + CHUNK_SIZE]
        out += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    out += f"0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "Content-Length": str(len(out)),
    }
    prepared, _, _, _ = server.sign("PUT", url, headers, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    return requests.put(url, data=bytes(out), headers=prepared, timeout=60)


def verify(server, bucket, key, data, resp):
    """Returns (ok, description) for a PUT response and the stored object."""
    if resp.status_code != 200:
        return False, f"PUT rejected: {error_of(resp)}"
    g = server.request("GET", server.url(bucket, key))
    if g.status_code != 200:
        return False, f"GET failed: {error_of(g)}"
    if g.content == data:
        enc = g.headers.get("Content-Encoding")
        extra = f", stored Content-Encoding={enc!r}" if enc else ""
        return True, f"ok: {len(data)} bytes round-trip{extra}"
    if b";chunk-signature=" in g.content or g.content.startswith(b"%x\r\n" % CHUNK_SIZE):
        return False, f"WRONG: stored {len(g.content)} bytes including the chunk framing"
    return False, f"WRONG: stored {len(g.content)} bytes that differ from the {len(data)} sent"


def main(argv):
    if len(argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    server = Server(*argv[1:5])
    bucket = argv[5] if len(argv) == 6 else f"streaming-check-{uuid.uuid4().hex[:8]}"

    r = server.request("PUT", server.url(bucket))
    if r.status_code not in (200, 409):
        print(f"cannot create bucket {bucket}: {error_of(r)}", file=sys.stderr)
        return 1

    # 3 full chunks + a partial one.
    data = os.urandom(3 * CHUNK_SIZE + 12345)
    results = {}

    r = server.request("PUT", server.url(bucket, "sha256"), data)
    results["sha256"] = verify(server, bucket, "sha256", data, r)

    r = server.request("PUT", server.url(bucket, "unsigned"), data, payload_hash="UNSIGNED-PAYLOAD")
    results["unsigned"] = verify(server, bucket, "unsigned", data, r)

    r = put_streaming_signed(server, bucket, "streaming-signed", data)
    results["streaming-signed"] = verify(server, bucket, "streaming-signed", data, r)

    r = put_streaming_signed(server, bucket, "streaming-no-ce", data, content_encoding=False)
    results["streaming-signed-no-ce"] = verify(server, bucket, "streaming-no-ce", data, r)

    r = put_streaming_signed(server, bucket, "streaming-bad-sig", data, corrupt=True)
    if r.status_code == 200:
        results["streaming-bad-sig"] = (False, "ACCEPTED a corrupted chunk signature (chunk signatures not verified)")
    else:
        results["streaming-bad-sig"] = (True, f"rejected as it should: {error_of(r)}")

    try:
        r = put_streaming_unsigned_trailer(server, bucket, "streaming-trailer", data)
        results["streaming-unsigned-trailer"] = verify(server, bucket, "streaming-trailer", data, r)
    except requests.RequestException as e:
        results["streaming-unsigned-trailer"] = (False, f"request failed: {e}")

    for name, (ok, desc) in results.items():
        print(f"{name:28s} {'PASS' if ok else 'FAIL'}  {desc}")
    return 0 if results["streaming-signed"][0] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
