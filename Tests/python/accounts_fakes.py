"""Loopback fakes of the multi-account tests (test_accounts.py): an Outposts endpoint of one
account and a central STS, both checking every request's SigV4 signature with botocore through
sigv4_verifier.Verifier (the secret is known per access key; session tokens must match), and a
writer of configs with several [[account]] tables.

Nothing here logs a secret: the fakes record access key ids, regions and whether a session
token came, never the token or the secret."""
import datetime
import json
import os
import secrets
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from aws_fakes import QuietHandler
from sigv4_verifier import Verifier


def wire_order(order_id, status="PREPARING", line_status="PREPARING", outpost="op-0123456789abcdef0"):
    """A GetOrder `Order` in the wire form, with one line item."""
    return {"OrderId": order_id, "OutpostId": outpost, "Status": status, "OrderType": "OUTPOST",
            "PaymentOption": "ALL_UPFRONT", "PaymentTerm": "THREE_YEARS", "OrderSubmissionDate": 1794717903,
            "LineItems": [{"LineItemId": "ooi-" + order_id[3:], "CatalogItemId": "OR-8CVV0EV", "Quantity": 1,
                           "Status": line_status}]}


def order_ids(count, tag):
    """`count` distinct valid order ids, distinct per `tag`."""
    return [f"oo-{tag:05x}{i:012x}" for i in range(count)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A daemon stopping mid-call closes its connection; that is no failure of the fake.
        import sys
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Quiet(QuietHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, data, content_type, headers=()):
        """An answer with a fresh x-amzn-RequestId, as AWS sends."""
        self.reply(status, data, content_type, [("x-amzn-RequestId", secrets.token_hex(8)), *headers])


def _scope(headers):
    """(access key id, region) of a request's Authorization header, or (None, None)."""
    auth = headers.get("Authorization") or ""
    try:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
        key, _day, region, _service, _ = credential.split("/")
        return key, region
    except (IndexError, ValueError):
        return None, None


class FakeOutposts:
    """The Outposts API of one account in one region, on a free loopback port.

    `credentials` maps access key id -> (secret, session token or None); it may grow while the
    fake runs (the fake STS adds the temporary credentials it hands out). A request is answered
    only when botocore, recomputing its signature with that secret for `region`, agrees; else 403
    with the error AWS gives (UnrecognizedClientException for an unknown key,
    InvalidSignatureException for a wrong secret or region). GetOrder serves the account's own
    orders (`orders`, id -> wire Order) and answers NotFoundException for any other id, as AWS
    does for another account's order; ListOrders lists the own orders. With `throttle` set,
    every well-signed call gets 429 ThrottlingException."""

    def __init__(self, name, region, credentials, orders=()):
        self.name = name
        self.region = region
        self.credentials = dict(credentials)
        self.verifier = Verifier(self.credentials, "outposts", region)
        self.orders = {o["OrderId"]: o for o in orders}
        self.throttle = False
        self.calls = []      # dicts: t, key, region, token (bool), op, order, answer
        self.lock = threading.Lock()
        fake = self

        class Handler(_Quiet):
            def do_GET(self):
                body = b""
                problem = fake.verifier.check("GET", self.path, self.headers, body)
                key, region = _scope(self.headers)
                path = urlsplit(self.path).path
                op = "GetOrder" if path.startswith("/orders/") else "ListOrders" if path == "/list-orders" else "Unknown"
                order_id = unquote(path[len("/orders/"):]) if op == "GetOrder" else None
                with fake.lock:
                    if problem is not None:
                        status, code, payload = 403, problem[0], {"message": problem[1]}
                    elif fake.throttle:
                        status, code, payload = 429, "ThrottlingException", {"message": "Rate exceeded"}
                    elif op == "GetOrder" and order_id in fake.orders:
                        status, code, payload = 200, None, {"Order": fake.orders[order_id]}
                    elif op == "GetOrder":
                        status, code, payload = 404, "NotFoundException", {"message": f"Order {order_id} not found."}
                    elif op == "ListOrders":
                        summaries = [{"OrderId": o["OrderId"], "OutpostId": o["OutpostId"], "Status": o["Status"],
                                      "OrderType": o["OrderType"], "OrderSubmissionDate": o["OrderSubmissionDate"],
                                      "LineItemCountsByStatus": {o["LineItems"][0]["Status"]: 1}}
                                     for o in fake.orders.values()]
                        status, code, payload = 200, None, {"Orders": summaries}
                    else:
                        status, code, payload = 404, "UnknownOperationException", {"message": "no such operation"}
                    fake.calls.append({"t": time.monotonic(), "key": key, "region": region,
                                       "token": "X-Amz-Security-Token" in self.headers, "op": op, "order": order_id,
                                       "answer": code or str(status)})
                headers = [("x-amzn-ErrorType", code)] if code else []
                self.answer(status, json.dumps(payload).encode(), "application/json", headers)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set_order(self, order):
        with self.lock:
            self.orders[order["OrderId"]] = order

    def add_credential(self, key, secret, token=None):
        with self.lock:
            self.credentials[key] = (secret, token)

    def snapshot(self):
        with self.lock:
            return list(self.calls)

    def count(self, since=0.0, answer=None):
        with self.lock:
            return sum(1 for c in self.calls if c["t"] >= since and (answer is None or c["answer"] == answer))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FakeSTS:
    """STS AssumeRole (query protocol) on a free loopback port, for roles assumed from one central
    account. Each request's signature is recomputed with botocore with the central secret, for
    the region the request is scoped to (the daemon signs STS for the account's region). `roles`
    maps role ARN -> {"external_id": str or None, "outposts": FakeOutposts}: a granted role gets
    fresh temporary credentials (ASIA…, with a session token), which are registered with that
    account's FakeOutposts. A wrong or missing ExternalId is AccessDenied, as STS answers."""

    def __init__(self, central_key, central_secret, roles):
        self.central = {central_key: (central_secret, None)}
        self.roles = roles
        self.calls = []      # dicts: key, region, role, external_id, session, signature (None = OK), answer
        self.issued = {}     # role ARN -> [temporary access key ids]
        self.secrets = []    # the temporary secrets and session tokens handed out
        self.lock = threading.Lock()
        fake = self

        class Handler(_Quiet):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                key, region = _scope(self.headers)
                problem = Verifier(fake.central, "sts", region or "?").check("POST", self.path, self.headers, body)
                params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                role = params.get("RoleArn")
                call = {"key": key, "region": region, "role": role, "external_id": params.get("ExternalId"),
                        "session": params.get("RoleSessionName"), "action": params.get("Action"),
                        "signature": problem}
                with fake.lock:
                    fake.calls.append(call)
                    grant = fake.roles.get(role)
                    if problem is not None:
                        call["answer"] = problem[0]
                        return self.error(403, "SignatureDoesNotMatch" if problem[0] == "InvalidSignatureException"
                                          else "InvalidClientTokenId", problem[1])
                    if params.get("Action") != "AssumeRole" or params.get("Version") != "2011-06-15":
                        call["answer"] = "InvalidAction"
                        return self.error(400, "InvalidAction", "Could not find operation")
                    if grant is None or params.get("ExternalId") != grant.get("external_id"):
                        call["answer"] = "AccessDenied"
                        return self.error(403, "AccessDenied",
                                          f"User: arn:aws:iam::000000000000:user/central is not authorized to perform: "
                                          f"sts:AssumeRole on resource: {role}")
                    temp_key = "ASIA" + secrets.token_hex(8).upper()
                    temp_secret = secrets.token_urlsafe(30)
                    token = "FwoGZXIvYXdzE" + secrets.token_urlsafe(60)
                    grant["outposts"].add_credential(temp_key, temp_secret, token)
                    fake.issued.setdefault(role, []).append(temp_key)
                    fake.secrets += [temp_secret, token]
                    call["answer"] = "200"
                expiration = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
                xml = (
                    '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
                    f"<AssumedRoleUser><Arn>{role.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/"
                    f"{params.get('RoleSessionName')}</Arn><AssumedRoleId>AROAEXAMPLE:{params.get('RoleSessionName')}"
                    "</AssumedRoleId></AssumedRoleUser>"
                    f"<Credentials><AccessKeyId>{temp_key}</AccessKeyId><SecretAccessKey>{temp_secret}</SecretAccessKey>"
                    f"<SessionToken>{token}</SessionToken>"
                    f"<Expiration>{expiration.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration></Credentials>"
                    "</AssumeRoleResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>"
                    "</AssumeRoleResponse>")
                self.answer(200, xml.encode(), "text/xml")

            def error(self, status, code, message):
                xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                       "</Error><RequestId>r-1</RequestId></ErrorResponse>")
                self.answer(status, xml.encode(), "text/xml")

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return [dict(c) for c in self.calls]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def write_credentials(directory, profiles, config_profiles=None):
    """A shared credentials file (and an empty or given config file) in `directory`; returns the
    environment that points the daemon at them. `profiles`: name -> {key: value}."""
    directory = Path(directory)
    creds = directory / "credentials"
    lines = []
    for name, values in profiles.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {v}" for k, v in values.items()]
        lines.append("")
    creds.write_text("\n".join(lines))
    os.chmod(creds, 0o600)
    config = directory / "aws-config"
    config_lines = []
    for name, values in (config_profiles or {}).items():
        config_lines.append("[default]" if name == "default" else f"[profile {name}]")
        config_lines += [f"{k} = {v}" for k, v in values.items()]
        config_lines.append("")
    config.write_text("\n".join(config_lines))
    # No AWS_ACCESS_KEY_ID: each account must take its own profile's keys, not the environment's.
    return {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(config),
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": ""}


def write_accounts_config(path, store, accounts, orders, webhook=None, interval="1s", max_rps=200,
                          concurrency=4, failing_after=2, extra=""):
    """A config with one [[account]] per `accounts` entry (dicts of its keys, `name` first) and
    one [[order]] per (order id, account name or None) of `orders`."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        return json.dumps(v)

    lines = ["[poll]", f'interval = "{interval}"', "jitter = 0.0", f"concurrency = {concurrency}",
             f"max_rps = {max_rps}", 'terminal_interval = "1s"', f"failing_after = {failing_after}",
             'request_timeout = "2s"', "", "[storage]", f'path = "{store}"', "", "[journald]", "enabled = false", ""]
    for account in accounts:
        lines.append("[[account]]")
        lines += [f"{k} = {value(v)}" for k, v in account.items()]
        lines.append("")
    for order_id, account in orders:
        lines += ["[[order]]", f'id = "{order_id}"']
        if account:
            lines.append(f'account = "{account}"')
        lines.append("")
    if webhook:
        from conftest import WEBHOOK_SECRET
        lines += ["[[webhook]]", 'name = "ops"', f'url = "{webhook}"', f'secret = "{WEBHOOK_SECRET}"',
                  'timeout = "2s"', ""]
    lines.append(extra)
    Path(path).write_text("\n".join(lines))
    os.chmod(path, 0o600)
    return path
