#!/usr/bin/env python3
"""Verify one captured webhook request with the reference `standardwebhooks` library.

Interop oracle for the Swift webhook signer (Tests/SinksTests). Reads one JSON document on
stdin:

    {"secret": "whsec_..."            # a secret as configured, or
     "secret_bytes_b64": "...",       # the raw HMAC key (non-whsec secrets are their UTF-8 bytes)
     "headers": {"webhook-id": ..., "webhook-timestamp": ..., "webhook-signature": ...},
     "body_b64": "..."}               # the exact request body

Exit status: 0 verified (the parsed body is printed as JSON), 1 rejected (the library's
reason on stderr), 3 the library is not installed (pip install standardwebhooks).
"""
import base64
import json
import sys

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError:
    print("standardwebhooks is not installed: pip install standardwebhooks", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    request = json.load(sys.stdin)
    if "secret" in request:
        webhook = Webhook(request["secret"])
    else:
        webhook = Webhook(base64.b64decode(request["secret_bytes_b64"]))
    body = base64.b64decode(request["body_b64"])
    try:
        payload = webhook.verify(body, request["headers"])
    except WebhookVerificationError as error:
        print(f"rejected: {error}", file=sys.stderr)
        return 1
    json.dump(payload, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
