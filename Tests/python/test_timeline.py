"""`outpostwatch timeline` (docs/cli.md) from outside: phases consistent with the events' times,
the current stay open ("so far"), aligned columns, and an unknown order a clear error."""
import json
import re

from conftest import ORDER_1, Simulator, run_cli, write_config


def wire(status, line_status):
    shipment = {"ShipmentTrackingNumber": "1Z 999/AA", "ShipmentCarrier": "UPS"} if line_status != "BUILDING" else None
    order = {"OrderId": ORDER_1, "OutpostId": "op-0123456789abcdef0", "Status": status,
            "PaymentOption": "ALL_UPFRONT", "PaymentTerm": "THREE_YEARS", "OrderType": "OUTPOST",
            "OrderSubmissionDate": 1794717903,
            "LineItems": [{"LineItemId": "ooi-0123456789abcdef1", "CatalogItemId": "OR-8CVV0EV",
                           "Quantity": 1, "Status": line_status}]}
    if shipment:
        order["LineItems"][0]["ShipmentInformation"] = shipment
    return order


def test_timeline_phases_follow_the_history(binary, tmp_path):
    sim = Simulator(binary, speed=0)
    try:
        config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", orders=(ORDER_1,), journald=False)
        for status, line in [("IN_PROGRESS", "BUILDING"), ("IN_PROGRESS", "SHIPPED"), ("DELIVERED", "DELIVERED")]:
            sim.admin("PUT", f"/_simulator/orders/{ORDER_1}", wire(status, line))
            run_cli(binary, "once", config=config, check=0)
        events = json.loads(run_cli(binary, "history", ORDER_1, "--json", config=config, check=0).stdout)
        timeline = json.loads(run_cli(binary, "timeline", ORDER_1, "--json", config=config, check=0).stdout)
        assert timeline["order_id"] == ORDER_1
        assert [p["status"] for p in timeline["phases"]] == ["IN_PROGRESS", "DELIVERED"]
        changed = next(e for e in events if e["type"] == "order.status_changed")
        assert timeline["phases"][0]["to"] == changed["occurred_at"] == timeline["phases"][1]["from"]
        assert timeline["phases"][1]["to"] is None, "the current stay is open"
        item = timeline["line_items"][0]
        assert item["id"] == "ooi-0123456789abcdef1"
        assert [p["status"] for p in item["phases"]] == ["BUILDING", "SHIPPED", "DELIVERED"]
        line_changes = [e["occurred_at"] for e in events if e["type"] == "line_item.status_changed"]
        assert [p["from"] for p in item["phases"][1:]] == line_changes
        assert all(p["duration_seconds"] >= 0 for p in timeline["phases"] + item["phases"])

        text = run_cli(binary, "timeline", ORDER_1, config=config, check=0).stdout
        lines = text.splitlines()
        assert lines[0].startswith(f"Order {ORDER_1}")
        header = lines[1]
        assert re.match(r"STATUS\s+ENTERED\s+LEFT\s+DURATION", header)
        # Aligned: every row's ENTERED column starts where the header's does.
        column = header.index("ENTERED")
        assert all(row[column - 2:column] == "  " for row in lines[2:4])
        assert "so far" in text and "Line item ooi-0123456789abcdef1" in text

        # status --json lists the shipment with its tracking link (the built-in UPS template).
        row = json.loads(run_cli(binary, "status", "--json", config=config, check=0).stdout)[0]
        assert row["shipments"] == [{"line_item_id": "ooi-0123456789abcdef1", "carrier": "UPS",
                                     "tracking_number": "1Z 999/AA",
                                     "tracking_url": "https://www.ups.com/track?loc=en_US&tracknum=1Z%20999%2FAA"}]
        assert row["stalled"] is False

        unknown = run_cli(binary, "timeline", "oo-00000000000000001", config=config)
        assert unknown.returncode == 1
        assert "no order oo-00000000000000001" in unknown.stderr
    finally:
        sim.stop()
