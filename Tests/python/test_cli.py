"""End-to-end tests of the command line against the real simulator, store, receiver and journald."""
import json
import os
import subprocess

from conftest import (ORDER_1, ORDER_2, AWS_SECRET, WEBHOOK_SECRET, journal_entries, run_cli, wait_for,
                      write_config)


def history(binary, config, *args):
    out = run_cli(binary, "history", *args, "--json", config=config, check=0).stdout
    return json.loads(out)


def assert_contiguous(events):
    by_order = {}
    for e in events:
        by_order.setdefault(e["order"]["id"], []).append(e["sequence"])
    for order, seqs in by_order.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"{order}: gap or duplicate in {seqs}"
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "duplicate event ids"


def test_first_poll_is_only_the_baseline(binary, simulator, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=False)
    out = run_cli(binary, "once", "--json", config=config, check=0).stdout
    events = json.loads(out)
    assert [e["type"] for e in events] == ["order.first_seen", "order.first_seen"]
    assert {e["order"]["id"] for e in events} == {ORDER_1, ORDER_2}
    assert all(e["sequence"] == 1 for e in events)
    assert all(e["change"]["field"] == "status" and e["change"]["from"] is None for e in events)
    # Nothing changed: a second poll reports nothing.
    again = json.loads(run_cli(binary, "once", "--json", config=config, check=0).stdout)
    assert again == []


def test_full_lifecycle_history_matches_webhooks(binary, simulator, receiver, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db",
                          webhook_url=receiver.url, journald=False)
    run_cli(binary, "once", config=config, check=0)
    # Each `once` is a fresh process: every change is found from the stored state, as after a restart.
    for _ in range(60):
        step = simulator.advance()
        run_cli(binary, "once", config=config)
        if step and step.get("finished"):
            break
    run_cli(binary, "once", config=config)
    events = history(binary, config)
    assert_contiguous(events)
    types = {e["type"] for e in events}
    for expected in ["order.first_seen", "order.status_changed", "line_item.status_changed",
                     "line_item.shipment_changed", "line_item.assets_changed", "order.fulfilled"]:
        assert expected in types, f"{expected} missing from {sorted(types)}"
    statuses = [e["change"]["to"] for e in events if e["type"] == "order.status_changed" and e["order"]["id"] == ORDER_1]
    assert statuses[-1] == "COMPLETED"
    assert "CANCELLED" in [e["change"]["to"] for e in events
                           if e["type"] == "order.status_changed" and e["order"]["id"] == ORDER_2]
    shipped = [e for e in events if e["type"] == "line_item.shipment_changed"]
    assert all(e["change"]["to"]["carrier"] and e["change"]["to"]["tracking_number"] for e in shipped)
    # Every webhook-bound event arrived, signed, with exactly the body history prints.
    sent = {e["id"]: e for e in receiver.events()}
    for e in events:
        if e["type"] == "order.first_seen":
            assert e["id"] not in sent, "order.first_seen goes to journald only by default"
            continue
        assert e["id"] in sent, f"{e['type']} {e['id']} was not delivered"
        assert sent[e["id"]] == e
    assert all(r["verified"] for r in receiver.requests)
    headers = receiver.requests[0]["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("outpostwatch/")
    assert headers["webhook-signature"].startswith("v1,")


def test_check_config_reports_every_error_with_position(binary, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[aws]\nregion = "us-west-2"\nregoin = "x"\n\n[poll]\ninterval = "5 minutes"\n'
                      'concurrency = "four"\n\n[[order]]\nid = "oo-123"\n\n'
                      '[[webhook]]\nname = "a"\nurl = "http://hooks.example.com/x"\n'
                      '[[webhook]]\nname = "a"\nurl = "https://hooks.example.com/y"\n')
    proc = run_cli(binary, "check-config", config=config)
    assert proc.returncode == 78, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith(str(config))]
    assert len(lines) >= 6, proc.stderr
    import re
    for line in lines:
        assert re.match(re.escape(str(config)) + r":\d+:\d+: .+", line), line
    assert any(":3:1:" in l and "regoin" in l for l in lines), lines       # unknown key, at the key
    assert any(":6:12:" in l for l in lines), lines                        # bad duration, at the value
    assert any(":7:15:" in l for l in lines), lines                        # wrong type
    assert any(":10:6:" in l for l in lines), lines                        # malformed order id
    assert any("plain" in l.lower() or "http" in l for l in lines if ":14:" in l), lines
    assert any("duplicate" in l.lower() for l in lines), lines


def test_check_config_accepts_the_example(binary):
    from conftest import ROOT
    proc = run_cli(binary, "check-config", config=ROOT / "config/outpostwatch.example.toml")
    assert proc.returncode == 0, proc.stderr


def test_usage_errors_exit_64(binary):
    assert run_cli(binary, "no-such-command").returncode == 64
    assert run_cli(binary, "history", "--since").returncode == 64


def test_missing_config_is_a_config_error(binary, tmp_path):
    proc = run_cli(binary, "once", config=tmp_path / "absent.toml")
    assert proc.returncode == 78
    assert "absent.toml" in proc.stderr


def test_failed_poll_exits_1_after_recording_the_others(binary, simulator, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=False)
    simulator.admin("POST", "/_simulator/faults", {"kind": "error500", "count": 100, "order": ORDER_2})
    proc = run_cli(binary, "once", "--json", config=config)
    assert proc.returncode == 1, proc.stderr
    assert ORDER_2 in proc.stderr
    events = json.loads(proc.stdout)
    assert any(e["order"]["id"] == ORDER_1 for e in events)


def test_status_json(binary, simulator, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=False)
    run_cli(binary, "once", config=config, check=0)
    rows = json.loads(run_cli(binary, "status", "--json", config=config, check=0).stdout)
    assert {r["order_id"] for r in rows} == {ORDER_1, ORDER_2}
    for r in rows:
        for key in ["status", "line_items_by_status", "last_poll_at", "last_change_at", "consecutive_failures", "label"]:
            assert key in r
        assert r["last_poll_at"] is not None
        assert sum(r["line_items_by_status"].values()) >= 1


def test_dead_letter_then_redeliver(binary, simulator, receiver, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", webhook_url=receiver.url,
                          journald=False, webhook_extra='max_age = "1s"')
    run_cli(binary, "once", config=config, check=0)
    receiver.status = 500
    simulator.advance()
    run_cli(binary, "once", config=config, check=0)
    # Past max_age the delivery is failed, visible in `deliveries --state failed`.
    import time
    time.sleep(1.2)
    run_cli(binary, "once", config=config, check=0)
    failed = json.loads(run_cli(binary, "deliveries", "--state", "failed", "--json", config=config, check=0).stdout)
    assert failed, "no failed delivery after max_age"
    assert all(d["attempts"] >= 1 and d["last_status"] == 500 for d in failed)
    receiver.status = 200
    event_id = failed[0]["event_id"]
    run_cli(binary, "redeliver", event_id, "--sink", "ops", config=config, check=0)
    assert event_id in {e["id"] for e in receiver.events()}
    delivered = json.loads(run_cli(binary, "deliveries", "--state", "delivered", "--json", config=config, check=0).stdout)
    assert event_id in {d["event_id"] for d in delivered}


def test_test_sink_sends_a_signed_event(binary, receiver, tmp_path, simulator):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", webhook_url=receiver.url,
                          journald=False)
    proc = run_cli(binary, "test-sink", "ops", config=config, check=0)
    assert "delivered" in proc.stdout
    assert receiver.requests and receiver.requests[0]["verified"]
    assert run_cli(binary, "test-sink", "nope", config=config).returncode != 0


def test_journald_entries_carry_structured_fields(binary, simulator, tmp_path, journald):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=True)
    run_cli(binary, "once", config=config, check=0)
    simulator.advance()
    events = json.loads(run_cli(binary, "once", "--json", config=config, check=0).stdout)
    assert events
    event = events[0]
    entries = wait_for(lambda: journal_entries(EVENT_ID=event["id"]), what="the journal entry")
    entry = entries[0]
    assert entry["EVENT_TYPE"] == event["type"]
    assert entry["ORDER_ID"] == event["order"]["id"]
    assert entry["SYSLOG_IDENTIFIER"] == "outpostwatch"
    assert len(entry["MESSAGE_ID"]) == 32
    assert entry["PRIORITY"] in ("4", "5")
    if event["change"]["field"] == "status":
        assert entry["TO_STATUS"] == event["change"]["to"]


def test_no_secret_in_any_output(binary, simulator, receiver, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", webhook_url=receiver.url,
                          journald=False)
    outputs = []
    for args in (["once"], ["status"], ["history", "--json"], ["deliveries", "--json"], ["check-config"]):
        p = run_cli(binary, *args, config=config)
        outputs += [p.stdout, p.stderr]
    # An auth failure must not echo the secret either.
    simulator.admin("POST", "/_simulator/faults", {"kind": "error500", "count": 3})
    p = run_cli(binary, "once", config=config)
    outputs += [p.stdout, p.stderr]
    blob = "\n".join(outputs)
    assert AWS_SECRET not in blob
    assert WEBHOOK_SECRET not in blob and WEBHOOK_SECRET[6:] not in blob


def test_demo_runs_to_its_summary(binary):
    """`make demo`'s command, fast: every transition detected and every webhook verified."""
    proc = run_cli(binary, "demo", "--speed", "4", "--no-color", timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    out = proc.stdout
    import re
    detected = int(re.search(r"events detected:\s+(\d+)", out).group(1))
    m = re.search(r"webhooks delivered/verified: (\d+) of (\d+) received, (\d+) rejected", out)
    verified, received, rejected = map(int, m.groups())
    first_seen = int(re.search(r"(\d+) order\.first_seen", out).group(1))
    assert first_seen == 2
    assert detected >= 20
    assert rejected == 0
    assert verified == received == detected - first_seen, out[-1500:]
    for status in ["IN_PROGRESS", "SHIPPED", "DELIVERED", "INSTALLED", "COMPLETED", "CANCELLED"]:
        assert status in out, f"{status} not shown"
    assert "\x1b[" not in out, "no colour codes when stdout is not a terminal"


def test_readme_config_examples_pass_check_config(binary, tmp_path):
    """Every TOML block of the README is a config check-config accepts (region from the env)."""
    import re
    from conftest import ROOT
    blocks = re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "the README has no TOML example"
    for i, block in enumerate(blocks):
        path = tmp_path / f"readme-{i}.toml"
        path.write_text(block)
        proc = run_cli(binary, "check-config", config=path, env={"AWS_REGION": "us-west-2"})
        assert proc.returncode == 0, f"README TOML block {i}:\n{block}\n{proc.stderr}"
