#!/usr/bin/env python3
"""Webhook requests captured in the test container, checked on the host (scripts/systemd-test.sh).

    verify_webhooks.py verify DIR SECRET [--min N]
        every DIR/*.head + *.body request (written by receiver.sh) must be a SPEC section 5
        delivery: POST, JSON body, user-agent outpostwatch/…, and a Standard Webhooks signature
        that the `standardwebhooks` package (an independent implementation) accepts, with
        webhook-id equal to the body's id. Exit 0 when at least N (default 1) requests were
        found and all pass.
    verify_webhooks.py sign SECRET [--tamper]
        print a signed SPEC-shaped HTTP request, for the harness's self-test of the receiver
        and of this verifier; --tamper changes the body after signing, so it must be rejected.
"""
import argparse
import json
import pathlib
import sys
import time
from datetime import datetime, timezone

from standardwebhooks import Webhook, WebhookVerificationError

ORDER_LEVEL_PREFIXES = ("order.", "watch.")


def parse_head(text: str) -> tuple[str, dict[str, str]]:
    lines = text.splitlines()
    request_line, headers = lines[0], {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return request_line, headers


def problems_of(request_line: str, headers: dict[str, str], body: bytes, secret: str) -> list[str]:
    problems = []
    if not request_line.startswith("POST "):
        problems.append(f"request line {request_line!r}")
    if not headers.get("content-type", "").startswith("application/json"):
        problems.append(f"content-type {headers.get('content-type')!r}")
    if not headers.get("user-agent", "").startswith("outpostwatch/"):
        problems.append(f"user-agent {headers.get('user-agent')!r}")
    try:
        event = Webhook(secret).verify(body, headers)
    except (WebhookVerificationError, ValueError) as error:
        return problems + [f"signature: {error}"]
    if event.get("id") != headers.get("webhook-id"):
        problems.append(f"webhook-id {headers.get('webhook-id')!r} != body id {event.get('id')!r}")
    for key in ("id", "type", "sequence", "occurred_at", "order", "change"):
        if key not in event:
            problems.append(f"body without {key}")
    # test-sink's synthetic event (the all-zero order) stands outside every order's sequence: 0.
    synthetic = event.get("order", {}).get("id") == "oo-00000000000000000"
    if not isinstance(event.get("sequence"), int) or event.get("sequence", 0) < (0 if synthetic else 1):
        problems.append(f"sequence {event.get('sequence')!r}")
    if not isinstance(event.get("order"), dict) or not str(event["order"].get("id", "")).startswith("oo-"):
        problems.append("order.id missing or not oo-…")
    if str(event.get("type", "")).startswith(ORDER_LEVEL_PREFIXES) and "line_item" in event:
        problems.append("line_item in an order-level event")
    return problems


def verify(directory: pathlib.Path, secret: str, minimum: int) -> int:
    heads = sorted(directory.glob("*.head"))
    failures = 0
    for head in heads:
        body = head.with_suffix(".body").read_bytes()
        request_line, headers = parse_head(head.read_text())
        problems = problems_of(request_line, headers, body, secret)
        if problems:
            failures += 1
            print(f"bad {head.name}: {'; '.join(problems)}")
        else:
            print(f"ok {headers.get('webhook-id')} {json.loads(body).get('type')}")
    if len(heads) < minimum:
        print(f"only {len(heads)} request(s), want at least {minimum}")
        return 1
    return 1 if failures else 0


def sign(secret: str, tamper: bool) -> int:
    event = {
        "id": f"evt_selftest{time.time_ns()}",
        "type": "order.status_changed",
        "sequence": 2,
        "occurred_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "order": {"id": "oo-0123456789abcdef0", "outpost_id": "op-0123456789abcdef0",
                  "label": "systemd-test rack", "status": "IN_PROGRESS"},
        "change": {"field": "status", "from": "PREPARING", "to": "IN_PROGRESS"},
    }
    body = json.dumps(event, separators=(",", ":"))
    signature = Webhook(secret).sign(event["id"], datetime.now(timezone.utc), body)
    if tamper:
        body = body.replace("IN_PROGRESS", "CANCELLED")
    head = [
        "POST /hook HTTP/1.1", "host: 127.0.0.1:8715", "content-type: application/json",
        "user-agent: outpostwatch/selftest", f"webhook-id: {event['id']}",
        f"webhook-timestamp: {int(time.time())}", f"webhook-signature: {signature}",
        f"content-length: {len(body.encode())}", "connection: close",
    ]
    sys.stdout.write("\r\n".join(head) + "\r\n\r\n" + body)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    verify_parser = commands.add_parser("verify")
    verify_parser.add_argument("directory", type=pathlib.Path)
    verify_parser.add_argument("secret")
    verify_parser.add_argument("--min", type=int, default=1)
    sign_parser = commands.add_parser("sign")
    sign_parser.add_argument("secret")
    sign_parser.add_argument("--tamper", action="store_true")
    arguments = parser.parse_args()
    if arguments.command == "verify":
        return verify(arguments.directory, arguments.secret, arguments.min)
    return sign(arguments.secret, arguments.tamper)


if __name__ == "__main__":
    sys.exit(main())
