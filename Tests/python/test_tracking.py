"""Tracking links (docs/configuration.md `[tracking]`, docs/events.md `shipment.tracking_url`): from
the real simulator through the real binary to the webhook body, history, status, journald and Slack."""
import json
import urllib.parse

import pytest

from conftest import (ORDER_1, Simulator, journal_entries, run_cli, wait_for, write_config)

LINE_UPS = "ooi-0123456789abcdef1"
LINE_DBS = "ooi-0123456789abcdef2"
LINE_XYZ = "ooi-0123456789abcdef3"
# Characters a tracking number must not carry into a URL unencoded: space, /, &, #, ?, %, +, non-ASCII.
UPS_NUMBER = "1Z 999/AA&1#2?3%+é"
DBS_NUMBER = "DBS-42/7"

SCENARIO = {
    "orders": [{
        "OrderId": ORDER_1, "OutpostId": "op-0123456789abcdef0", "Status": "IN_PROGRESS", "OrderType": "OUTPOST",
        "LineItems": [{"LineItemId": i, "CatalogItemId": "OR-8CVV0EV", "Quantity": 1, "Status": "BUILDING"}
                      for i in (LINE_UPS, LINE_DBS, LINE_XYZ)]}],
    "timeline": [
        {"at": 1, "order": ORDER_1, "lineItem": LINE_UPS, "status": "SHIPPED",
         "shipment": {"ShipmentCarrier": "UPS", "ShipmentTrackingNumber": UPS_NUMBER}},
        {"at": 1, "order": ORDER_1, "lineItem": LINE_DBS, "status": "SHIPPED",
         "shipment": {"ShipmentCarrier": "DBS", "ShipmentTrackingNumber": DBS_NUMBER}},
        {"at": 1, "order": ORDER_1, "lineItem": LINE_XYZ, "status": "SHIPPED",
         "shipment": {"ShipmentCarrier": "EXPEDITORS", "ShipmentTrackingNumber": "E1"}},
    ],
}

TRACKING = """
[tracking]
UPS = "https://track.example.com/ups?n={number}&lang=en"
dbs = "https://example.com/track/{number}"
"""


@pytest.fixture
def shipped(binary, tmp_path, receiver):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    sim = Simulator(binary, speed=0, scenario=scenario)
    config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", orders=[ORDER_1],
                          webhook_url=receiver.url, journald=True, extra=TRACKING)
    with open(config, "a") as f:
        f.write(f'\n[[webhook]]\nname = "chat"\nurl = "{receiver.url}"\nformat = "slack"\n')
    run_cli(binary, "once", config=config, check=0)
    for _ in SCENARIO["timeline"]:
        sim.advance()
    events = json.loads(run_cli(binary, "once", "--json", config=config, check=0).stdout)
    yield config, events
    sim.stop()


def expected_urls():
    return {
        LINE_UPS: "https://track.example.com/ups?n=" + urllib.parse.quote(UPS_NUMBER, safe="") + "&lang=en",
        LINE_DBS: "https://example.com/track/DBS-42%2F7",
    }


def test_events_carry_the_encoded_tracking_url(binary, shipped, receiver):
    config, events = shipped
    urls = expected_urls()
    assert urls[LINE_UPS].startswith("https://track.example.com/ups?n=1Z%20999%2FAA%261%232%3F3%25%2B%C3%A9&lang=en")
    shipment_events = [e for e in events if e["type"] == "line_item.shipment_changed"]
    assert {e["line_item"]["id"] for e in shipment_events} == {LINE_UPS, LINE_DBS, LINE_XYZ}
    for e in shipment_events:
        item = e["line_item"]["id"]
        if item in urls:
            assert e["line_item"]["shipment"]["tracking_url"] == urls[item]
            assert e["change"]["to"]["tracking_url"] == urls[item]
        else:   # no template for EXPEDITORS: no key at all
            assert "tracking_url" not in e["line_item"]["shipment"]
            assert "tracking_url" not in e["change"]["to"]
    # The status change of a shipped line item carries the link too.
    status_events = [e for e in events if e["type"] == "line_item.status_changed" and e["line_item"]["id"] == LINE_UPS]
    assert status_events[0]["line_item"]["shipment"]["tracking_url"] == urls[LINE_UPS]
    # The committed body is what history prints and the json webhook received.
    history = json.loads(run_cli(binary, "history", "--json", config=config, check=0).stdout)
    by_id = {e["id"]: e for e in history}
    for e in shipment_events:
        assert by_id[e["id"]] == e
    sent = {e["id"]: e for e in receiver.events() if "id" in e}
    for e in shipment_events:
        assert sent[e["id"]] == e


def test_slack_text_links_the_tracking_page(shipped, receiver):
    urls = expected_urls()
    bodies = [json.loads(r["body"]) for r in receiver.requests]   # the slack sink has no secret
    texts = [b["text"] for b in bodies if "text" in b]
    linked = [t for t in texts if "shipment" in t and LINE_UPS in t]
    assert linked, texts
    assert f"<{urls[LINE_UPS].replace('&', '&amp;')}|Track UPS " in linked[0]


def test_history_and_status_show_the_link(binary, shipped):
    config, _ = shipped
    urls = expected_urls()
    history = run_cli(binary, "history", config=config, check=0).stdout
    assert urls[LINE_UPS] in history and urls[LINE_DBS] in history
    status = run_cli(binary, "status", config=config, check=0).stdout
    assert "TRACKING URL" in status
    assert urls[LINE_UPS] in status and urls[LINE_DBS] in status


def test_journald_has_shipment_tracking_url(shipped, journald):
    _, events = shipped
    urls = expected_urls()
    event = next(e for e in events if e["type"] == "line_item.shipment_changed" and e["line_item"]["id"] == LINE_DBS)
    entry = wait_for(lambda: journal_entries(EVENT_ID=event["id"]), what="the journal entry")[0]
    assert entry["SHIPMENT_TRACKING_URL"] == urls[LINE_DBS]
    assert entry["SHIPMENT_TRACKING_NUMBER"] == DBS_NUMBER


def test_bad_templates_are_config_errors_at_their_position(binary, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[[order]]\nid = "oo-0123456789abcdef0"\n\n[tracking]\n'
                      'UPS = "https://example.com/track"\n'
                      'DHL = "ftp://example.com/{number}"\n'
                      'ACME = 42\n'
                      'ups = "https://example.com/{number}"\n')
    proc = run_cli(binary, "check-config", config=config)
    assert proc.returncode == 78, proc.stderr
    assert f"{config}:5:7: " in proc.stderr and "{number}" in proc.stderr
    assert f"{config}:6:7: " in proc.stderr and "http(s)" in proc.stderr
    assert f"{config}:7:8: " in proc.stderr
    assert f"{config}:8:1: " in proc.stderr and "twice" in proc.stderr
