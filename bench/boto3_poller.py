#!/usr/bin/env python3
"""The baseline: what a user would write instead of outpostwatch — boto3 + sqlite3, polling each
order once, diffing statuses against the stored JSON, printing the changes.

The last line it prints is JSON for bench/run.py: the polls made, the changes found, and the CPU
seconds of this process before the loop (interpreter start, imports, client) and in the loop
(`loop_cpu_s`, the steady-state cost of a poll, which `run` is compared with)."""
import argparse
import json
import sqlite3
import time

import boto3
from botocore.config import Config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--orders", required=True, help="file with one order id per line")
    args = ap.parse_args()

    client = boto3.client("outposts", region_name="us-west-2", endpoint_url=args.endpoint,
                          aws_access_key_id="AKIDBENCH", aws_secret_access_key="bench",
                          config=Config(retries={"mode": "standard"}))
    db = sqlite3.connect(args.db)
    db.execute("create table if not exists orders (id text primary key, state text)")
    db.execute("create table if not exists events (id integer primary key, order_id text, kind text, "
               "old text, new text)")
    changes = 0
    polls = 0
    order_ids = open(args.orders).read().split()
    setup_cpu = time.process_time()
    for order_id in order_ids:
        order = client.get_order(OrderId=order_id)["Order"]
        polls += 1
        state = {"status": order["Status"],
                 "items": {li["LineItemId"]: [li.get("Status"), li.get("ShipmentInformation")]
                           for li in order.get("LineItems", [])}}
        row = db.execute("select state from orders where id = ?", (order_id,)).fetchone()
        old = json.loads(row[0]) if row else None
        if old != state:
            changes += 1
            with db:
                db.execute("insert or replace into orders values (?, ?)", (order_id, json.dumps(state)))
                db.execute("insert into events (order_id, kind, old, new) values (?, ?, ?, ?)",
                           (order_id, "changed" if old else "first_seen", json.dumps(old), json.dumps(state)))
    loop_cpu = time.process_time() - setup_cpu
    print(f"{changes} changed")
    print(json.dumps({"polls": polls, "changed": changes, "setup_cpu_s": setup_cpu, "loop_cpu_s": loop_cpu}))


if __name__ == "__main__":
    main()
