#!/usr/bin/env python3
"""For the fake STS of the credential tests: checks a recorded HTTP request's SigV4 signature with botocore, as an AWS service would.

Reads one JSON object on stdin:
  {"method", "url", "headers": [[name, value], ...], "body": "<text>",
   "access_key", "secret_key", "token" (or null), "region", "service"}
Only the headers named in the Authorization header's SignedHeaders are taken (clients add
Content-Length, Connection… after signing), the X-Amz-Date header gives the timestamp, and
botocore's SigV4Auth recomputes the signature. Prints "OK" and exits 0 when the scope, the
signed-header list and the signature all match; else prints what differs and exits 1.
"""
import json
import re
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main() -> int:
    r = json.load(sys.stdin)
    headers = {}
    for name, value in r["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    auth = headers.get("authorization", [""])[0]
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        print(f"malformed Authorization header: {auth!r}")
        return 1
    key_id, day, region, service, signed, signature = m.groups()
    problems = []
    if key_id != r["access_key"]:
        problems.append(f"signed with key {key_id}, expected {r['access_key']}")
    if region != r["region"] or service != r["service"]:
        problems.append(f"scope {region}/{service}, expected {r['region']}/{r['service']}")
    timestamp = headers.get("x-amz-date", [""])[0]
    if not timestamp.startswith(day):
        problems.append("credential scope date differs from X-Amz-Date")
    if r.get("token") and headers.get("x-amz-security-token", [None])[0] != r["token"]:
        problems.append("X-Amz-Security-Token missing or different")
    request = AWSRequest(method=r["method"], url=r["url"], data=r["body"].encode())
    for name in signed.split(";"):
        for value in headers.get(name, []):
            request.headers.add_header(name, value)
    request.context["timestamp"] = timestamp
    signer = SigV4Auth(Credentials(r["access_key"], r["secret_key"], r.get("token")), r["service"], r["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if signer.signed_headers(signer.headers_to_sign(request)) != signed:
        problems.append("SignedHeaders differ from botocore's choice")
    if expected != signature:
        problems.append("signature mismatch")
    if problems:
        print("; ".join(problems))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
