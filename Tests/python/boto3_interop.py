#!/usr/bin/env python3
"""Proves the outpostwatch simulator speaks the real AWS Outposts wire format.

Drives boto3's own Outposts client (real botocore serialisation, SigV4 signing, response
parsing, error mapping and retries) against a running simulator, and compares what boto3
parses with what the simulator holds.

Usage: boto3_interop.py --endpoint http://127.0.0.1:PORT < expected.json

expected.json is written by the Swift test (SimulatorInteropTests.swift):
    {"orders": [Order, ...],            # wire names; timestamps as ISO-8601 strings
     "missingOrderId": "oo-..."}        # a well-formed id the simulator does not have
The orders must be in the simulator's listing order. The simulator must be in manual mode
with no faults pending; this script injects the faults it needs through the admin API.

Exit status 0 when every check passed, 1 otherwise (each failure is printed).
"""

import argparse
import datetime
import json
import sys
import urllib.request

import boto3
import botocore
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-west-2"
failures = []


def check(condition, what):
    if condition:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}")
        failures.append(what)
    return condition


def same_instant(actual, expected_iso, what):
    """botocore turns epoch seconds into timezone-aware datetimes; compare to the millisecond."""
    if expected_iso is None:
        return check(actual is None, f"{what} absent")
    if not check(isinstance(actual, datetime.datetime) and actual.tzinfo is not None,
                 f"{what} parsed as an aware datetime (got {actual!r})"):
        return False
    expected = datetime.datetime.fromisoformat(expected_iso.replace("Z", "+00:00"))
    delta = abs((actual - expected).total_seconds())
    return check(delta < 0.001, f"{what} == {expected_iso} (off by {delta:.6f} s)")


def compare_line_item(actual, expected, where):
    for key in ("CatalogItemId", "LineItemId", "Quantity", "Status", "PreviousLineItemId", "PreviousOrderId"):
        check(actual.get(key) == expected.get(key), f"{where}.{key} == {expected.get(key)!r} (got {actual.get(key)!r})")
    check(actual.get("ShipmentInformation") == expected.get("ShipmentInformation"),
          f"{where}.ShipmentInformation == {expected.get('ShipmentInformation')!r} (got {actual.get('ShipmentInformation')!r})")
    check(actual.get("AssetInformationList") == expected.get("AssetInformationList"),
          f"{where}.AssetInformationList == {expected.get('AssetInformationList')!r} (got {actual.get('AssetInformationList')!r})")
    known = {"CatalogItemId", "LineItemId", "Quantity", "Status", "ShipmentInformation", "AssetInformationList",
             "PreviousLineItemId", "PreviousOrderId"}
    check(set(actual) <= known, f"{where} has only model members (got {sorted(actual)})")


def compare_order(actual, expected, where):
    for key in ("OrderId", "OutpostId", "Status", "PaymentOption", "PaymentTerm", "OrderType"):
        check(actual.get(key) == expected.get(key), f"{where}.{key} == {expected.get(key)!r} (got {actual.get(key)!r})")
    same_instant(actual.get("OrderSubmissionDate"), expected.get("OrderSubmissionDate"), f"{where}.OrderSubmissionDate")
    same_instant(actual.get("OrderFulfilledDate"), expected.get("OrderFulfilledDate"), f"{where}.OrderFulfilledDate")
    actual_items = actual.get("LineItems", [])
    expected_items = expected.get("LineItems", [])
    if check(len(actual_items) == len(expected_items), f"{where} has {len(expected_items)} line items"):
        for index, (a, e) in enumerate(zip(actual_items, expected_items)):
            compare_line_item(a, e, f"{where}.LineItems[{index}]")


def expected_summary(order):
    """The ListOrders view of an order, derived independently of the simulator's code."""
    counts = {}
    for item in order.get("LineItems", []):
        counts[item["Status"]] = counts.get(item["Status"], 0) + 1
    return counts


def admin(endpoint, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(endpoint + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def error_of(call):
    try:
        call()
    except ClientError as error:
        return error
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    args = parser.parse_args()
    expected = json.load(sys.stdin)
    orders = expected["orders"]
    endpoint = args.endpoint.rstrip("/")

    print(f"boto3 {boto3.__version__}, botocore {botocore.__version__}")
    client = boto3.client(
        "outposts", region_name=REGION, endpoint_url=endpoint,
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}))

    # GetOrder, field by field.
    for index, order in enumerate(orders):
        response = client.get_order(OrderId=order["OrderId"])
        meta = response["ResponseMetadata"]
        check(meta["HTTPStatusCode"] == 200, f"get_order({order['OrderId']}) answers 200")
        check(bool(meta.get("RequestId")), f"get_order({order['OrderId']}) has x-amzn-RequestId")
        check(meta["HTTPHeaders"].get("content-type") == "application/json", "content-type is application/json")
        compare_order(response["Order"], order, f"orders[{index}]")

    # ListOrders through boto3's paginator, one order per page.
    paginator = client.get_paginator("list_orders")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 1}))
    check(len(pages) == len(orders), f"list_orders with MaxResults=1 gives {len(orders)} pages (got {len(pages)})")
    check(all("NextToken" in page for page in pages[:-1]) and "NextToken" not in pages[-1],
          "every page but the last carries NextToken")
    summaries = [summary for page in pages for summary in page.get("Orders", [])]
    check([s["OrderId"] for s in summaries] == [o["OrderId"] for o in orders],
          f"list_orders lists every order once, in order (got {[s['OrderId'] for s in summaries]})")
    for summary, order in zip(summaries, orders):
        where = f"summary {order['OrderId']}"
        for key in ("OutpostId", "Status", "OrderType"):
            check(summary.get(key) == order.get(key), f"{where}.{key} == {order.get(key)!r} (got {summary.get(key)!r})")
        check(summary.get("LineItemCountsByStatus") == expected_summary(order),
              f"{where}.LineItemCountsByStatus == {expected_summary(order)} (got {summary.get('LineItemCountsByStatus')})")
        same_instant(summary.get("OrderSubmissionDate"), order.get("OrderSubmissionDate"), f"{where}.OrderSubmissionDate")
        same_instant(summary.get("OrderFulfilledDate"), order.get("OrderFulfilledDate"), f"{where}.OrderFulfilledDate")

    # ListOrders filtered by Outpost, by id and by ARN.
    outpost = orders[0]["OutpostId"]
    wanted = [o["OrderId"] for o in orders if o["OutpostId"] == outpost]
    listed = [s["OrderId"] for s in client.list_orders(OutpostIdentifierFilter=outpost)["Orders"]]
    check(listed == wanted, f"OutpostIdentifierFilter={outpost} lists {wanted} (got {listed})")
    arn = f"arn:aws:outposts:{REGION}:123456789012:outpost/{outpost}"
    listed = [s["OrderId"] for s in client.list_orders(OutpostIdentifierFilter=arn)["Orders"]]
    check(listed == wanted, f"OutpostIdentifierFilter=<ARN> lists {wanted} (got {listed})")

    # A missing order is the modelled NotFoundException.
    missing = expected["missingOrderId"]
    try:
        client.get_order(OrderId=missing)
        check(False, "get_order(missing) raises NotFoundException")
    except client.exceptions.NotFoundException as error:
        check(error.response["Error"]["Code"] == "NotFoundException", "NotFoundException code parsed")
        check(error.response["ResponseMetadata"]["HTTPStatusCode"] == 404, "NotFoundException is HTTP 404")
        check(bool(error.response["Error"].get("Message")), "NotFoundException carries a message")

    # A malformed id is the modelled ValidationException.
    try:
        client.get_order(OrderId="oo-NOT-AN-ORDER")
        check(False, "get_order(malformed id) raises ValidationException")
    except client.exceptions.ValidationException as error:
        check(error.response["ResponseMetadata"]["HTTPStatusCode"] == 400, "ValidationException is HTTP 400")

    # Throttling is retried by botocore and the retry succeeds.
    admin(endpoint, "DELETE", "/_simulator/stats")
    admin(endpoint, "POST", "/_simulator/faults", {"kind": "throttle", "count": 1, "operation": "GetOrder"})
    response = client.get_order(OrderId=orders[0]["OrderId"])
    check(response["ResponseMetadata"]["RetryAttempts"] == 1, "throttled get_order succeeded after 1 retry "
          f"(RetryAttempts={response['ResponseMetadata']['RetryAttempts']})")
    compare_order(response["Order"], orders[0], "orders[0] after throttling")
    stats = admin(endpoint, "GET", "/_simulator/stats")
    answers = stats["operations"]["GetOrder"]["answers"]
    check(answers == {"ThrottlingException": 1, "200": 1}, f"simulator saw 1 throttled + 1 good GetOrder (got {answers})")

    # Throttling that outlasts the retries surfaces with its code and HTTP 429.
    admin(endpoint, "POST", "/_simulator/faults", {"kind": "throttle", "count": 3, "operation": "GetOrder"})
    error = error_of(lambda: client.get_order(OrderId=orders[0]["OrderId"]))
    got = error.response if error is not None else None
    check(error is not None and error.response["Error"]["Code"] == "ThrottlingException"
          and error.response["ResponseMetadata"]["HTTPStatusCode"] == 429
          and error.response["ResponseMetadata"]["RetryAttempts"] == 2,
          f"persistent throttling raises ThrottlingException (429) after 3 attempts (got {got})")

    # A 500 is InternalServerException, also retried.
    admin(endpoint, "POST", "/_simulator/faults", {"kind": "error500", "count": 1})
    response = client.list_orders()
    check(response["ResponseMetadata"]["RetryAttempts"] == 1, "a 500 on list_orders is retried once and succeeds")

    # Every call boto3 made was signed the way the simulator checks.
    recorded = admin(endpoint, "GET", "/_simulator/requests")
    check(all(r["accessKeyId"] == "AKIDEXAMPLE" and r["region"] == REGION for r in recorded),
          "every recorded call carried a SigV4 credential for AKIDEXAMPLE in us-west-2")

    # An unsigned request is refused as AWS does.
    unsigned = boto3.client("outposts", region_name=REGION, endpoint_url=endpoint,
                            config=Config(signature_version=UNSIGNED))
    error = error_of(lambda: unsigned.get_order(OrderId=orders[0]["OrderId"]))
    check(error is not None and error.response["Error"]["Code"] == "MissingAuthenticationTokenException"
          and error.response["ResponseMetadata"]["HTTPStatusCode"] == 403,
          "an unsigned get_order is refused with MissingAuthenticationTokenException (403)")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
