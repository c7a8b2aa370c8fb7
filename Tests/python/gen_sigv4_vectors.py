#!/usr/bin/env python3
"""Writes SigV4 test vectors computed by botocore itself.

Every case is signed with botocore.auth.SigV4Auth at a fixed instant; the canonical request,
string to sign and Authorization header are botocore's own output. Outposts request shapes
come from botocore's rest-json serializer and the installed Outposts model, so the URL
encoding is exactly what boto3 puts on the wire.

Usage: python3 Tests/python/gen_sigv4_vectors.py [OUTPUT]
(default: Tests/OutpostsAPITests/Fixtures/sigv4_vectors.json next to this script)
"""

import base64
import datetime
import json
import os
import sys
from unittest import mock

import botocore
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.serialize
import botocore.session
from botocore.utils import percent_encode_sequence

FIXED_TIME = datetime.datetime(2026, 11, 28, 12, 34, 56)
FIXED_EPOCH = int(FIXED_TIME.replace(tzinfo=datetime.timezone.utc).timestamp())
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLXdlc3QtMiJHMEUCIQD+example=="


class RecordingSigV4Auth(botocore.auth.SigV4Auth):
    """botocore's signer, keeping the intermediate values it computed while signing."""

    def canonical_request(self, request):
        self.recorded_canonical_request = super().canonical_request(request)
        return self.recorded_canonical_request

    def string_to_sign(self, request, canonical_request):
        self.recorded_string_to_sign = super().string_to_sign(request, canonical_request)
        return self.recorded_string_to_sign

    def signature(self, string_to_sign, request):
        self.recorded_signature = super().signature(string_to_sign, request)
        return self.recorded_signature


def sign_case(name, method, url, headers, body=b"", service="outposts", region="us-west-2",
              token=None, secret=SECRET_KEY, when=FIXED_TIME):
    """Signs one request with botocore and returns the vector."""
    request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body)
    for key, value in headers:  # HTTPHeaders keeps duplicates, in order
        request.headers[key] = value
    credentials = botocore.credentials.Credentials(ACCESS_KEY, secret, token)
    signer = RecordingSigV4Auth(credentials, service, region)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        signer.add_auth(request)
    return {
        "name": name,
        "method": method,
        "url": url,
        "headers": [[k, v] for k, v in headers],
        "body_base64": base64.b64encode(body).decode(),
        "service": service,
        "region": region,
        "access_key_id": ACCESS_KEY,
        "secret_access_key": secret,
        "session_token": token,
        "epoch_seconds": int(when.replace(tzinfo=datetime.timezone.utc).timestamp()),
        "expected": {
            "canonical_request": signer.recorded_canonical_request,
            "string_to_sign": signer.recorded_string_to_sign,
            "signature": signer.recorded_signature,
            "authorization": request.headers["Authorization"],
            "signed_headers": [[k, v] for k, v in request.headers.items()],
        },
    }


def outposts_request(operation, params, endpoint="https://outposts.us-west-2.amazonaws.com"):
    """The request boto3 would build for an Outposts operation (URL, method, body, headers)."""
    session = botocore.session.get_session()
    model = session.get_service_model("outposts")
    op = model.operation_model(operation)
    serializer = botocore.serialize.create_serializer(model.metadata["protocol"], include_validation=False)
    request_dict = serializer.serialize_to_request(params, op)
    botocore.awsrequest.prepare_request_dict(request_dict, endpoint_url=endpoint)
    request = botocore.awsrequest.create_request_object(request_dict)
    return request.method, request.url, list(request.headers.items()), request.body or b""


def q(pairs):
    return percent_encode_sequence(pairs)


def cases():
    base = "https://outposts.us-west-2.amazonaws.com"
    out = []
    add = out.append

    add(sign_case("vanilla GET", "GET", base + "/", []))
    add(sign_case("vanilla GET no path", "GET", base, []))
    add(sign_case("GET with path", "GET", base + "/orders/oo-0123456789abcdef0", []))
    add(sign_case("query ordering", "GET", base + "/list-orders?" + q([("Zeta", "1"), ("Alpha", "2"), ("Mid", "3")]), []))
    add(sign_case("query key case ordering", "GET", base + "/?" + q([("b", "1"), ("B", "2"), ("a", "3"), ("_x", "4")]), []))
    add(sign_case("query reserved characters encoded", "GET",
                  base + "/?" + q([("k", "a/b?c=d&e+f:g@h!*'()"), ("other", "$,;")]), []))
    add(sign_case("query unreserved characters", "GET", base + "/?" + q([("-_.~", "AZaz09-_.~")]), []))
    add(sign_case("query utf-8", "GET", base + "/?" + q([("ключ", "значение ☃"), ("emoji", "🚀")]), []))
    add(sign_case("query spaces", "GET", base + "/?" + q([("a b", "c d  e")]), []))
    add(sign_case("query empty value", "GET", base + "/?" + q([("empty", ""), ("x", "1")]), []))
    add(sign_case("query key without equals", "GET", base + "/?flag&x=1", []))
    add(sign_case("query repeated keys sorted by value", "GET",
                  base + "/?" + q([("k", "z"), ("k", "a"), ("k", "m")]), []))
    add(sign_case("path unreserved characters", "GET", base + "/a-b_c.d~e/", []))
    add(sign_case("path encoded utf-8 segment", "GET", base + "/" + q([("x", "ü€ 漢")])[2:], []))
    add(sign_case("path encoded space and slash", "GET", base + "/orders/a%20b%2Fc", []))
    add(sign_case("path dot segments", "GET", base + "/a/./b/../c", []))
    add(sign_case("path double slashes", "GET", base + "//a//b//", []))
    add(sign_case("path trailing slash", "GET", base + "/orders/", []))
    add(sign_case("header value whitespace", "GET", base + "/",
                  [("My-Header1", "  value1  "), ("My-Header2", "a   b\t\tc"), ("X-Tab", "\tleading and trailing\t")]))
    add(sign_case("header names mixed case", "GET", base + "/", [("X-AMZ-Meta-Thing", "v"), ("x-amz-meta-other", "w")]))
    add(sign_case("duplicate headers", "GET", base + "/",
                  [("My-Header", "first"), ("X-Other", "o"), ("my-header", " second  value "), ("MY-HEADER", "third")]))
    add(sign_case("unsigned headers ignored", "GET", base + "/",
                  [("User-Agent", "outpostwatch/1.0"), ("Connection", "keep-alive"), ("Expect", "100-continue"),
                   ("X-Amzn-Trace-Id", "Root=1-abc"), ("Accept", "application/json")]))
    add(sign_case("explicit host header", "GET", base + "/", [("Host", "outposts.us-west-2.amazonaws.com")]))
    add(sign_case("host with non-default port", "GET", "http://127.0.0.1:8714/orders/oo-0123456789abcdef0", []))
    add(sign_case("host default port dropped", "GET", "https://outposts.us-west-2.amazonaws.com:443/", []))
    add(sign_case("host upper case", "GET", "https://OutPosts.US-West-2.AmazonAWS.com/", []))
    add(sign_case("ipv6 host", "GET", "http://[::1]:8080/orders", []))
    add(sign_case("session token", "GET", base + "/orders/oo-0123456789abcdef0", [], token=SESSION_TOKEN))
    add(sign_case("stale auth headers replaced", "GET", base + "/",
                  [("Authorization", "AWS4-HMAC-SHA256 old"), ("X-Amz-Date", "20000101T000000Z"),
                   ("X-Amz-Security-Token", "old-token")], token=SESSION_TOKEN))
    add(sign_case("date header kept and re-dated", "GET", base + "/", [("Date", "Mon, 01 Jan 2001 00:00:00 GMT")]))
    add(sign_case("POST with JSON body", "POST", base + "/",
                  [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "Outposts.Thing")],
                  body=b'{"OrderId":"oo-0123456789abcdef0"}'))
    add(sign_case("POST form body", "POST", base + "/",
                  [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                  body=b"Action=Thing&Version=2019-12-03"))
    add(sign_case("POST binary body", "POST", base + "/upload", [("Content-Type", "application/octet-stream")],
                  body=bytes(range(256))))
    add(sign_case("content sha256 header used as payload hash", "PUT", base + "/x",
                  [("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")], body=b"ignored"))
    add(sign_case("lower-case method", "get", base + "/", []))
    add(sign_case("secret with special characters", "GET", base + "/", [], secret="a+b/c=d~é"))
    add(sign_case("other time, leap day", "GET", base + "/", [], when=datetime.datetime(2024, 2, 29, 23, 59, 59)))
    add(sign_case("other time, epoch", "GET", base + "/", [], when=datetime.datetime(1970, 1, 1, 0, 0, 0)))
    add(sign_case("region cn-north-1", "GET", "https://outposts.cn-north-1.amazonaws.com.cn/orders/oo-0123456789abcdef0",
                  [], region="cn-north-1"))

    # STS, as the credential chain's AssumeRole / AssumeRoleWithWebIdentity calls it (query protocol, POST form).
    sts_body = percent_encode_sequence([("Action", "AssumeRole"), ("Version", "2011-06-15"),
                                        ("RoleArn", "arn:aws:iam::123456789012:role/OutpostsRead"),
                                        ("RoleSessionName", "outpostwatch-1700000000")]).encode()
    add(sign_case("sts AssumeRole", "POST", "https://sts.us-west-2.amazonaws.com/",
                  [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                  body=sts_body, service="sts", region="us-west-2"))
    add(sign_case("sts global endpoint", "POST", "https://sts.amazonaws.com/",
                  [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                  body=b"Action=GetCallerIdentity&Version=2011-06-15", service="sts", region="us-east-1",
                  token=SESSION_TOKEN))

    # The Outposts shapes, serialized by botocore from the installed model.
    for name, operation, params in [
        ("outposts GetOrder", "GetOrder", {"OrderId": "oo-0123456789abcdef0"}),
        ("outposts GetOrder odd id", "GetOrder", {"OrderId": "oo-a/b c+d%é"}),
        ("outposts ListOrders empty", "ListOrders", {}),
        ("outposts ListOrders all parameters", "ListOrders",
         {"OutpostIdentifierFilter": "op-0123456789abcdef0", "MaxResults": 50,
          "NextToken": "AAEAAf+/tok=en with spaces&more"}),
        ("outposts ListOrders by arn", "ListOrders",
         {"OutpostIdentifierFilter": "arn:aws:outposts:us-west-2:123456789012:outpost/op-0123456789abcdef0"}),
    ]:
        method, url, headers, body = outposts_request(operation, params)
        add(sign_case(name, method, url, headers, body=body))
    # What boto3's client adds before signing a GetOrder (user agent unsigned, SDK headers signed).
    method, url, headers, body = outposts_request("GetOrder", {"OrderId": "oo-0123456789abcdef0"})
    headers += [("User-Agent", "Boto3/1.40.0 md/Botocore#1.43.11 ua/2.1 os/linux lang/python#3.11.7"),
                ("amz-sdk-invocation-id", "6e1b1c39-5f4c-4c1e-9f38-4f3c0d4e2a11"),
                ("amz-sdk-request", "attempt=1; max=3")]
    add(sign_case("outposts GetOrder with SDK headers and token", method, url, headers, body=body, token=SESSION_TOKEN))
    return out


def main():
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "OutpostsAPITests", "Fixtures",
                           "sigv4_vectors.json")
    target = os.path.normpath(sys.argv[1] if len(sys.argv) > 1 else default)
    vectors = {"generator": "Tests/python/gen_sigv4_vectors.py", "botocore_version": botocore.__version__,
               "cases": cases()}
    with open(target, "w", encoding="utf-8") as f:
        json.dump(vectors, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(vectors['cases'])} cases to {target}")


if __name__ == "__main__":
    main()
