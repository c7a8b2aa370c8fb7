#!/usr/bin/env python3
"""A loopback HTTP server that checks AWS SigV4 signatures with botocore, as AWS would.

For every request it reads the Authorization header, takes the headers named in
SignedHeaders exactly as they arrived (raw path and query included), re-signs the request
with botocore.auth.SigV4Auth at the request's X-Amz-Date with the secret it knows for the
access key, and compares. A match answers 200 (an Outposts-shaped body for /orders/{id} and
/list-orders, else {"ok": true}); a mismatch answers 403 with the AWS error shape
(x-amzn-ErrorType: InvalidSignatureException). It never logs secrets.

The 200 bodies cover every member of botocore's Outposts model shapes (GetOrderOutput,
ListOrdersOutput, two pages), with values derived from the shape names and enums.

Usage: sigv4_verifier.py --print-sample GetOrder|ListOrders   (body and botocore's parse, as JSON)
       sigv4_verifier.py --credential ACCESS_KEY:SECRET[:SESSION_TOKEN] [...]
                         [--service outposts] [--region us-west-2] [--port 0]
Prints "LISTENING <port>" on stdout once ready. Exits with status 3 if botocore is missing.
"""

import argparse
import datetime
import json
import os
import signal
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock
from urllib.parse import parse_qs, unquote, urlsplit


try:
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    import botocore.parsers
    import botocore.session
except ImportError as error:  # the Swift test turns this into a failure under CI=true
    print(f"botocore is not installed: {error}", file=sys.stderr)
    sys.exit(3)

MAX_SKEW = datetime.timedelta(minutes=15)
_patch_lock = threading.Lock()  # mock.patch of a module attribute is process-wide


class Verifier:
    def __init__(self, credentials, service, region):
        self.credentials = credentials  # access key -> (secret, token or None)
        self.service = service
        self.region = region

    def check(self, method, raw_target, headers, body):
        """Returns None when the signature is valid, else (error code, message)."""
        auth = headers.get("Authorization")
        if not auth:
            return "MissingAuthenticationTokenException", "Missing Authentication Token"
        try:
            algorithm, rest = auth.split(" ", 1)
            fields = dict(part.strip().split("=", 1) for part in rest.split(","))
            credential = fields["Credential"]
            signed_names = fields["SignedHeaders"].split(";")
            access_key, day, region, service, terminator = credential.split("/")
        except (ValueError, KeyError):
            return "IncompleteSignatureException", "Authorization header is malformed"
        if algorithm != "AWS4-HMAC-SHA256" or terminator != "aws4_request":
            return "IncompleteSignatureException", "Unsupported algorithm or scope"
        if access_key not in self.credentials:
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        if service != self.service or region != self.region:
            return "InvalidSignatureException", f"Credential should be scoped to {self.region}/{self.service}"
        for required in ("host", "x-amz-date"):
            if required not in signed_names:
                return "InvalidSignatureException", f"'{required}' must be a signed header"
        secret, token = self.credentials[access_key]
        sent_token = headers.get("X-Amz-Security-Token")
        if token is not None and sent_token != token:
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        if token is not None and "x-amz-security-token" not in signed_names:
            return "InvalidSignatureException", "'x-amz-security-token' must be a signed header"
        try:
            when = datetime.datetime.strptime(headers.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ")
        except ValueError:
            return "IncompleteSignatureException", "X-Amz-Date is missing or malformed"
        if day != when.strftime("%Y%m%d"):
            return "InvalidSignatureException", "Credential date does not match X-Amz-Date"
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        if abs(now - when) > MAX_SKEW:
            return "InvalidSignatureException", "Signature expired (request time too skewed)"

        # Re-sign exactly what arrived: the headers the client said it signed, in arrival order.
        request = botocore.awsrequest.AWSRequest(method=method, url="http://" + headers["Host"] + raw_target, data=body)
        for name, value in headers.items():
            if name.lower() in signed_names:
                request.headers[name] = value
        missing = [n for n in signed_names if n not in {k.lower() for k in request.headers.keys()}]
        if missing:
            return "InvalidSignatureException", f"Signed headers missing from the request: {missing}"
        signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials(access_key, secret, sent_token), service, region)
        with _patch_lock, mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
            signer.add_auth(request)
        if request.headers["Authorization"] != auth:
            return "InvalidSignatureException", (
                "The request signature we calculated does not match the signature you provided.")
        return None


# Values for the Outposts model's patterned string shapes (by shape name); other strings get
# "<Member>-value", enums one of their modelled values.
_PATTERNED = {
    "OutpostIdOnly": "op-0123456789abcdef0",
    "OrderId": "oo-0123456789abcdef0",
    "SkuCode": "OR-ABC1234",
    "LineItemId": "ooi-0123456789abcdef0",
    "TrackingId": "1Z999AA10123456784",
    "AssetId": "asset0123",
    "MacAddress": "0a:1b:2c:3d:4e:5f",
    "Token": "1##page2",
}


def patterned(shape_name, path):
    """A value matching the model's pattern, varied by position so list elements differ."""
    h = zlib.crc32(path.encode())
    digits = f"{h:08x}{h * 2654435761 % 2**36:09x}"[:17]
    if shape_name in ("OutpostIdOnly", "OrderId", "LineItemId"):
        return {"OutpostIdOnly": "op-", "OrderId": "oo-", "LineItemId": "ooi-"}[shape_name] + digits
    if shape_name == "MacAddress":
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    if shape_name == "AssetId":
        return f"asset{h}"
    if shape_name == "TrackingId":
        return f"1Z{h:X}"
    return _PATTERNED.get(shape_name)


def sample_value(shape, member_name="", path=""):
    """A deterministic value for every member of a botocore output shape (full coverage)."""
    kind = shape.type_name
    if kind == "structure":
        return {name: sample_value(member, name, f"{path}.{name}") for name, member in shape.members.items()}
    if kind == "list":
        return [sample_value(shape.member, member_name, f"{path}[{i}]") for i in range(2)]
    if kind == "map":
        keys = getattr(shape.key, "enum", None) or ["key"]
        return {keys[i % len(keys)]: sample_value(shape.value, member_name, f"{path}{{{i}}}") for i in range(2)}
    if kind == "timestamp":
        return 1764331200 + zlib.crc32(path.encode()) % 86400  # epoch seconds, as rest-json sends them
    if kind in ("integer", "long"):
        return 1 + zlib.crc32(path.encode()) % 5
    if kind == "boolean":
        return True
    if kind == "string":
        enum = getattr(shape, "enum", None)
        if enum:
            return enum[zlib.crc32(path.encode()) % len(enum)]
        return patterned(shape.name, path) or f"{member_name}-value"
    raise ValueError(f"no sample for {kind} shape {shape.name}")


_model = None


def outposts_model():
    global _model
    if _model is None:
        _model = botocore.session.get_session().get_service_model("outposts")
    return _model


def sample_output(operation):
    return sample_value(outposts_model().operation_model(operation).output_shape)


def botocore_parse(operation, body):
    """What boto3 would hand a caller for this 200 answer (timestamps as epoch seconds)."""
    parser = botocore.parsers.create_parser("rest-json")
    parsed = parser.parse({"status_code": 200, "headers": {}, "body": body},
                          outposts_model().operation_model(operation).output_shape)
    parsed.pop("ResponseMetadata", None)

    def plain(value):
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return plain(parsed)


def order_body(order_id):
    body = sample_output("GetOrder")
    body["Order"]["OrderId"] = order_id
    return body


def list_orders_body(query):
    """Two pages: the first carries the model's NextToken, the second ends the listing."""
    body = sample_output("ListOrders")
    if query.get("NextToken") == [_PATTERNED["Token"]]:
        body.pop("NextToken")
        for summary in body["Orders"]:
            order_id = summary["OrderId"]  # page 2 lists other orders than page 1
            summary["OrderId"] = order_id[:3] + ("f" if order_id[3] != "f" else "e") + order_id[4:]
    if "OutpostIdentifierFilter" in query:
        for summary in body["Orders"]:
            summary["OutpostId"] = query["OutpostIdentifierFilter"][0].rsplit("/", 1)[-1]
    return body


def make_handler(verifier):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            problem = verifier.check(self.command, self.path, self.headers, body)
            if problem is not None:
                code, message = problem
                self._answer(403, {"message": message}, {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/"})
                return
            path = urlsplit(self.path).path
            if path.startswith("/orders/"):
                self._answer(200, order_body(unquote(path[len("/orders/"):])))
            elif path == "/list-orders":
                self._answer(200, list_orders_body(parse_qs(urlsplit(self.path).query)))
            else:
                self._answer(200, {"ok": True})

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def _answer(self, status, payload, extra_headers=None):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "verifier-request")
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # quiet: the test reads stdout for the port only
            pass

    return Handler


def exit_with_parent():
    """The test that started us keeps our stdin open; EOF means it is gone, so stop too."""

    def watch():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main():
    # A parent test runner may have blocked signals in the thread that spawned us; the mask is
    # inherited, and a blocked SIGTERM would make us unstoppable.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-sample", choices=["GetOrder", "ListOrders"],
                        help="print the sample answer served for OPERATION and botocore's parse of it, then exit")
    parser.add_argument("--credential", action="append", default=[],
                        help="ACCESS_KEY:SECRET[:SESSION_TOKEN] accepted by the server")
    parser.add_argument("--service", default="outposts")
    parser.add_argument("--region", default="us-west-2")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="exit when stdin reaches EOF (the parent process ended)")
    args = parser.parse_args()
    if args.print_sample:
        body = order_body(_PATTERNED["OrderId"]) if args.print_sample == "GetOrder" else list_orders_body({})
        text = json.dumps(body)
        print(json.dumps({"body": text, "parsed": botocore_parse(args.print_sample, text.encode())}))
        return
    if not args.credential:
        parser.error("at least one --credential is needed")
    credentials = {}
    for item in args.credential:
        parts = item.split(":", 2)
        credentials[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else None)
    if args.exit_with_stdin:
        exit_with_parent()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Verifier(credentials, args.service, args.region)))
    server.daemon_threads = True
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
