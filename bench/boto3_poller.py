#!/usr/bin/env python3
"""The baseline: what a user would write instead of outpostwatch — boto3 + sqlite3, polling each
order once, diffing statuses against the stored JSON, printing the changes."""
import argparse
import json
import sqlite3

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
    for order_id in open(args.orders).read().split():
        order = client.get_order(OrderId=order_id)["Order"]
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
    print(f"{changes} changed")


if __name__ == "__main__":
    main()
