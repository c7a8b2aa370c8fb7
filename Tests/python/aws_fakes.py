"""Loopback fakes and helpers for the sink tests: moto's server (an independent AWS
implementation of events, sns and sqs), a SigV4-verifying fake of EventBridge and SNS that can
inject per-entry errors and throttling, and a fake PagerDuty Events API v2."""
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from conftest import AWS_SECRET, free_port

ACCESS_KEY = "AKIDTESTEXAMPLE"
# The routing key of the PagerDuty tests; test_zz_secrets.py checks it never shows.
PAGERDUTY_KEY = "R0utingKeyDoNotLeak0123456789abc"


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that answers with one call and logs nothing."""

    def reply(self, status, data, content_type, headers=()):
        self.send_response(status)
        self.send_header("content-type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def serve(handler):
    """A threading HTTP server on a free loopback port: (server, port)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


class Moto:
    """`python -m moto.server` on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("moto server did not start")

    def client(self, service, region="us-west-2"):
        import boto3
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=AWS_SECRET)

    def queue(self, name, fifo=False):
        sqs = self.client("sqs")
        attributes = {"FifoQueue": "true"} if fifo else {}
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def drain(self, queue_url):
        """Every message of a queue (deleted as read)."""
        sqs = self.client("sqs")
        messages = []
        while True:
            got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                      WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return messages
            messages += got
            for m in got:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def verify_sigv4(method, url, headers, body, service, region="us-west-2", secret=AWS_SECRET):
    """None when botocore's SigV4Auth, recomputing the request's signature, agrees; else why not."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    lower = {}
    for name, value in headers:
        lower.setdefault(name.lower(), []).append(value)
    auth = lower.get("authorization", [""])[0]
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return "malformed Authorization header"
    key, _day, signed_region, signed_service, signed, signature = m.groups()
    if key != ACCESS_KEY or signed_region != region or signed_service != service:
        return f"scope {key}/{signed_region}/{signed_service}"
    request = AWSRequest(method=method, url=url, data=body)
    for name in signed.split(";"):
        for value in lower.get(name, []):
            request.headers.add_header(name, value)
    request.context["timestamp"] = lower.get("x-amz-date", [""])[0]
    signer = SigV4Auth(Credentials(ACCESS_KEY, secret), service, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return None if expected == signature else "signature mismatch"


class VerifyingAWS:
    """A fake EventBridge (JSON 1.1) and SNS (query) endpoint that checks every request's
    signature with botocore. With `fail_each_once`, every event's entry is answered with an
    ErrorCode the first time it comes; `throttle` answers that many calls with ThrottlingException."""

    def __init__(self, service):
        self.service = service
        self.calls = []          # (kind, entries or params)
        self.times = []          # time.monotonic() of every verified call
        self.raw = []            # (method, url, headers, body) of every request
        self.fail_each_once = False
        self.failed_once = set()
        self.throttle = 0
        self.rejected = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = list(self.headers.items())
                url = f"http://127.0.0.1:{fake.port}{self.path}"
                problem = verify_sigv4("POST", url, headers, body, fake.service)
                with fake.lock:
                    fake.raw.append(("POST", url, headers, body))
                    if problem:
                        fake.rejected += 1
                        return self.answer(403, {"__type": "InvalidSignatureException", "message": problem})
                    fake.times.append(time.monotonic())
                    if fake.throttle > 0:
                        fake.throttle -= 1
                        fake.calls.append(("throttled", None))
                        return self.answer(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
                    if fake.service == "events":
                        return self.put_events(json.loads(body))
                    params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    fake.calls.append(("publish", params))
                    xml = ("<PublishResponse><PublishResult><MessageId>m-%d</MessageId></PublishResult>"
                           "</PublishResponse>" % len(fake.calls))
                    self.reply(200, xml.encode(), "text/xml")

            def put_events(self, request):
                entries = request["Entries"]
                fake.calls.append(("put", entries))
                results = []
                for entry in entries:
                    event_id = json.loads(entry["Detail"])["id"]
                    if fake.fail_each_once and event_id not in fake.failed_once:
                        fake.failed_once.add(event_id)
                        results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
                    else:
                        results.append({"EventId": f"eb-{event_id}"})
                failed = sum(1 for r in results if "ErrorCode" in r)
                self.answer(200, {"FailedEntryCount": failed, "Entries": results})

            def answer(self, status, obj):
                if fake.service == "sns" and status != 200:
                    # The query protocol answers errors in XML.
                    xml = ("<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                           "<RequestId>r-1</RequestId></ErrorResponse>" % (obj["__type"].replace("Exception", "")
                                                                            if obj["__type"] == "ThrottlingException"
                                                                            else obj["__type"], obj["message"]))
                    return self.reply(status, xml.encode(), "text/xml")
                self.reply(status, json.dumps(obj).encode(), "application/x-amz-json-1.1")

        self.server, self.port = serve(Handler)
        self.url = f"http://127.0.0.1:{self.port}"

    def put_entries(self):
        with self.lock:
            return [entries for kind, entries in self.calls if kind == "put"]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FakePagerDuty:
    """Events API v2 on loopback: validates each body against the documented schema, records the
    valid ones, and answers from `script` (a list of statuses used up first), then 202."""

    SEVERITIES = {"critical", "error", "warning", "info"}

    def __init__(self, routing_key):
        self.routing_key = routing_key
        self.accepted = []
        self.invalid = []
        self.script = []
        self.lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with fake.lock:
                    status = fake.script.pop(0) if fake.script else None
                    problems = fake.validate(body, self.headers.get("content-type", ""))
                    if status is None:
                        status = 400 if problems else 202
                    if status == 202:
                        fake.accepted.append(json.loads(body))
                    elif problems:
                        fake.invalid.append(problems)
                if status == 202:
                    payload = {"status": "success", "message": "Event processed",
                               "dedup_key": json.loads(body).get("dedup_key")}
                elif status == 400:
                    payload = {"status": "invalid event", "message": "Event object is invalid",
                               "errors": problems or ["rejected by the test"]}
                else:
                    payload = {"status": "throttled" if status == 429 else "error", "message": "try later"}
                self.reply(status, json.dumps(payload).encode(), "application/json",
                           [("retry-after", "1")] if status == 429 else [])

        self.server, self.port = serve(Handler)
        self.url = f"http://127.0.0.1:{self.port}/v2/enqueue"

    def validate(self, body, content_type):
        problems = []
        if "application/json" not in content_type:
            problems.append("content-type is not application/json")
        try:
            event = json.loads(body)
        except ValueError:
            return ["body is not JSON"]
        if event.get("routing_key") != self.routing_key:
            problems.append("'routing_key' is invalid")
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            problems.append("'event_action' is invalid")
        key = event.get("dedup_key")
        if not isinstance(key, str) or not key or len(key) > 255:
            problems.append("'dedup_key' is invalid")
        if event.get("event_action") == "trigger":
            payload = event.get("payload") or {}
            for field in ("summary", "source", "severity"):
                if not isinstance(payload.get(field), str) or not payload.get(field):
                    problems.append(f"'payload.{field}' is missing")
            if len(payload.get("summary", "")) > 1024:
                problems.append("'payload.summary' is too long")
            if payload.get("severity") not in self.SEVERITIES:
                problems.append("'payload.severity' is invalid")
            for field in ("timestamp", "component", "group", "class"):
                if field in payload and not isinstance(payload[field], str):
                    problems.append(f"'payload.{field}' is not a string")
            if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
                problems.append("'payload.custom_details' is not an object")
            for link in event.get("links", []):
                if not isinstance(link.get("href"), str):
                    problems.append("'links.href' is invalid")
        return problems

    def pairs(self):
        """dedup key -> the event_actions it received, in order."""
        out = {}
        with self.lock:
            for event in self.accepted:
                out.setdefault(event["dedup_key"], []).append(event["event_action"])
        return out

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
