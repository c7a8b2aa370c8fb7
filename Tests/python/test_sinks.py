"""EventBridge, SNS and PagerDuty sinks from outside: the daemon's events arrive in moto's
queues (through a bus rule and topic subscriptions) with the right source, detail-type, detail,
subject and attributes; a SigV4-verifying fake proves the signatures, partial retries and
throttling backoff; a fake PagerDuty Events v2 endpoint checks the schema and incident pairs."""
import json
import signal
import time
import urllib.request

import pytest

from conftest import (ORDER_1, ORDER_2, Simulator, need, run_cli, wait_for, wait_outbox_drained, write_config)
from test_daemon import kill_at_random_moments, start_daemon


@pytest.fixture
def moto():
    try:
        import boto3  # noqa: F401
        import moto as _moto  # noqa: F401
    except ImportError:
        need(False, 'moto\'s server (pip install "moto[server]")')
    from aws_fakes import Moto
    server = Moto()
    yield server
    server.stop()


def run_until_drained(binary, config, tmp_path, sim, seconds=2):
    """Runs the daemon until the simulator's orders are at their end and the outbox is empty."""
    proc, notify = start_daemon(binary, config, tmp_path)
    try:
        wait_for(lambda: notify.has("READY=1"), what="READY=1")
        # The baseline first, so the changes after it are transitions.
        wait_for(lambda: len(json.loads(run_cli(binary, "history", "--json", config=config, check=0).stdout)) >= 2,
                 what="both orders first seen")
        sim.advance(to="end")
        time.sleep(seconds)
        wait_outbox_drained(binary, config, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        notify.close()
    return json.loads(run_cli(binary, "history", "--json", config=config, check=0).stdout)


def test_eventbridge_and_sns_through_moto(binary, moto, tmp_path):
    events_api, sns_api = moto.client("events"), moto.client("sns")
    all_url, all_arn = moto.queue("all-events")
    ship_url, ship_arn = moto.queue("shipments")
    events_api.create_event_bus(Name="outposts")
    events_api.put_rule(Name="all", EventBusName="outposts", EventPattern=json.dumps({"source": ["outpostwatch"]}))
    events_api.put_targets(Rule="all", EventBusName="outposts", Targets=[{"Id": "q", "Arn": all_arn}])
    # The rule pattern docs/delivery.md shows.
    events_api.put_rule(Name="shipments", EventBusName="outposts", EventPattern=json.dumps(
        {"source": ["outpostwatch"], "detail-type": ["line_item.shipment_changed"]}))
    events_api.put_targets(Rule="shipments", EventBusName="outposts", Targets=[{"Id": "q", "Arn": ship_arn}])
    topic = sns_api.create_topic(Name="outposts-orders")["TopicArn"]
    fifo_topic = sns_api.create_topic(Name="outposts-orders.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    std_url, std_arn = moto.queue("topic")
    fifo_url, fifo_arn = moto.queue("topic.fifo", fifo=True)
    sns_api.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=std_arn)
    sns_api.subscribe(TopicArn=fifo_topic, Protocol="sqs", Endpoint=fifo_arn)

    sim = Simulator(binary, speed=4)
    try:
        extra = (f'[[eventbridge]]\nname = "bus"\nevent_bus = "outposts"\nendpoint = "{moto.url}"\n\n'
                 f'[[sns]]\nname = "topic"\ntopic_arn = "{topic}"\nendpoint = "{moto.url}"\n\n'
                 f'[[sns]]\nname = "fifo"\ntopic_arn = "{fifo_topic}"\nendpoint = "{moto.url}"\n')
        config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", journald=False,
                              interval="100ms", extra=extra)
        run_cli(binary, "check-config", config=config, check=0)
        history = run_until_drained(binary, config, tmp_path, sim)
    finally:
        sim.stop()
    expected = {e["id"]: e for e in history if e["type"] != "order.first_seen"}
    assert len(expected) >= 6, history

    # EventBridge: one message per event, source, detail-type and detail as documented.
    bus_messages = [json.loads(m["Body"]) for m in moto.drain(all_url)]
    assert sorted(m["detail"]["id"] for m in bus_messages) == sorted(expected)
    for m in bus_messages:
        event = expected[m["detail"]["id"]]
        assert m["source"] == "outpostwatch"
        assert m["detail-type"] == event["type"]
        assert m["detail"] == event
    shipments = [json.loads(m["Body"]) for m in moto.drain(ship_url)]
    assert sorted(m["detail"]["id"] for m in shipments) == sorted(
        i for i, e in expected.items() if e["type"] == "line_item.shipment_changed")
    assert shipments, "the scenario ships something"

    # SNS, standard and FIFO: the body as Message, a one-line subject, filterable attributes.
    deliveries = json.loads(run_cli(binary, "deliveries", "--json", "--limit", "0", config=config, check=0).stdout)
    assert {d["sink_kind"] for d in deliveries if d["sink"] == "fifo"} == {"sns"}
    assert {d["sink_kind"] for d in deliveries if d["sink"] == "bus"} == {"eventbridge"}
    for url, fifo in ((std_url, False), (fifo_url, True)):
        messages = moto.drain(url)
        notes = [json.loads(m["Body"]) for m in messages]
        assert sorted(json.loads(n["Message"])["id"] for n in notes) == sorted(expected)
        for message, note in zip(messages, notes):
            event = json.loads(note["Message"])
            assert event == expected[event["id"]]
            assert "\n" not in note["Subject"] and 0 < len(note["Subject"]) <= 100
            assert note["Subject"].startswith(f"Order {event['order']['id']}")
            attributes = {k: v["Value"] for k, v in note["MessageAttributes"].items()}
            assert attributes == {"event_type": event["type"], "order_id": event["order"]["id"], "account": "default"}
            if fifo:
                assert message["Attributes"]["MessageGroupId"] == event["order"]["id"]
                assert message["Attributes"]["MessageDeduplicationId"] == event["id"]


def test_signatures_partial_retries_and_throttling(binary, tmp_path, figures):
    need(__import__("importlib").util.find_spec("botocore") is not None, "botocore")
    from aws_fakes import VerifyingAWS
    events_fake, sns_fake = VerifyingAWS("events"), VerifyingAWS("sns")
    sim = Simulator(binary, speed=4)
    try:
        # The first two calls of each service are throttled.
        events_fake.throttle = sns_fake.throttle = 2
        extra = (f'[[eventbridge]]\nname = "bus"\nendpoint = "{events_fake.url}"\nconcurrency = 1\n\n'
                 f'[[sns]]\nname = "topic"\ntopic_arn = "arn:aws:sns:us-west-2:111111111111:orders"\n'
                 f'endpoint = "{sns_fake.url}"\n')
        config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", journald=False,
                              interval="100ms", extra=extra)
        # Every event's entry fails once with InternalFailure: retried alone, its siblings not resent.
        events_fake.fail_each_once = True
        history = run_until_drained(binary, config, tmp_path, sim, seconds=4)
    finally:
        sim.stop()
        events_fake.stop()
        sns_fake.stop()
    expected = {e["id"] for e in history if e["type"] != "order.first_seen"}
    assert events_fake.rejected == 0 and sns_fake.rejected == 0, "every request's signature verifies"
    puts = events_fake.put_entries()
    sent = [json.loads(entry["Detail"])["id"] for entries in puts for entry in entries]
    # Each event: once refused (InternalFailure), once accepted; never a third time.
    assert sorted(sent) == sorted(list(expected) * 2)
    assert max(len(entries) for entries in puts) > 1, "due events share a PutEvents call"
    assert all(len(entries) <= 10 for entries in puts)
    figures("largest PutEvents batch", max(len(entries) for entries in puts), "entries")
    published = [json.loads(json.loads(p["Message"])["default"])["id"] for kind, p in sns_fake.calls if kind == "publish"]
    assert sorted(published) == sorted(expected)
    assert [kind for kind, _ in events_fake.calls[:2]] == ["throttled", "throttled"]
    # Throttling slows the sink: 0.5 s after the first throttled call, 1 s after the second.
    assert events_fake.times[2] - events_fake.times[0] >= 1.4, events_fake.times[:3]
    # A tampered request is refused: the fake does check.
    method, url, headers, body = events_fake.raw[-1]
    from aws_fakes import verify_sigv4
    assert verify_sigv4(method, url, headers, body, "events") is None
    assert verify_sigv4(method, url, headers, body.replace(b"outpostwatch", b"outpostwatcH"), "events") == "signature mismatch"


def test_pagerduty_incidents_and_answers(binary, simulator, tmp_path):
    from aws_fakes import FakePagerDuty
    from aws_fakes import PAGERDUTY_KEY as key
    pd = FakePagerDuty(key)
    try:
        (tmp_path / "pd.key").write_text(key + "\n")
        extra = (f'[[pagerduty]]\nname = "oncall"\nrouting_key_file = "{tmp_path / "pd.key"}"\n'
                 f'url = "{pd.url}"\n')
        config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=False,
                              interval="200ms", extra=extra)
        # test-sink: a synthetic status change, valid per the schema.
        out = run_cli(binary, "test-sink", "oncall", config=config, check=0)
        assert "oncall: delivered (HTTP 202)" in out.stdout
        assert pd.pairs() == {f"outpostwatch/oo-00000000000000000/stalled": ["resolve"]}
        # Polls fail, then recover: a trigger and a resolve of the same key; 429 then 503 first.
        pd.script = [429, 503]
        simulator.admin("POST", "/_simulator/faults", {"kind": "error500", "count": 12, "order": ORDER_1})
        proc, notify = start_daemon(binary, config, tmp_path)
        try:
            key1 = f"outpostwatch/{ORDER_1}/failing"
            wait_for(lambda: pd.pairs().get(key1) == ["trigger", "resolve"], timeout=40,
                     what="failing then recovered for order 1")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            notify.close()
        assert not pd.invalid, pd.invalid
        trigger = next(e for e in pd.accepted if e["event_action"] == "trigger")
        payload = trigger["payload"]
        assert payload["source"] == "outpostwatch" and payload["severity"] == "error"
        assert payload["class"] == "watch.failing" and payload["component"] in (ORDER_1, ORDER_2)
        assert payload["custom_details"]["type"] == "watch.failing"
        deliveries = json.loads(run_cli(binary, "deliveries", "--json", config=config, check=0).stdout)
        first = [d for d in deliveries if d["event_type"] == "watch.failing"]
        assert first and all(d["sink_kind"] == "pagerduty" for d in first)
        assert max(d["attempts"] for d in first) >= 2, "429 and 503 were retried"
        # A 400 fails the delivery with PagerDuty's error text; the key never shows.
        pd.script = [400]
        out = run_cli(binary, "test-sink", "oncall", config=config)
        assert out.returncode == 1 and "HTTP 400" in out.stderr and "Event object is invalid" in out.stderr
        assert key not in out.stdout + out.stderr
        log = (tmp_path / "daemon.log").read_text()
        assert key not in log
    finally:
        pd.stop()


def test_sigkill_with_every_sink_kind(binary, moto, receiver, tmp_path):
    """SIGKILL at random instants with a webhook, EventBridge, SNS and PagerDuty configured:
    afterwards every event reached every sink, and no sink got an event more often than the
    kills could explain (a delivery in flight at a kill is sent again: at least once)."""
    from aws_fakes import FakePagerDuty
    kills = 8
    events_api, sns_api = moto.client("events"), moto.client("sns")
    bus_url, bus_arn = moto.queue("crash-bus")
    events_api.put_rule(Name="all", EventPattern=json.dumps({"source": ["outpostwatch"]}))
    events_api.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": bus_arn}])
    topic = sns_api.create_topic(Name="crash")["TopicArn"]
    topic_url, topic_arn = moto.queue("crash-topic")
    sns_api.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=topic_arn)
    from aws_fakes import PAGERDUTY_KEY as key
    pd = FakePagerDuty(key)
    sim = Simulator(binary, speed=4)
    try:
        extra = (f'[[eventbridge]]\nname = "bus"\nendpoint = "{moto.url}"\n\n'
                 f'[[sns]]\nname = "topic"\ntopic_arn = "{topic}"\nendpoint = "{moto.url}"\n\n'
                 f'[[pagerduty]]\nname = "oncall"\nrouting_key = "{key}"\nurl = "{pd.url}"\n'
                 f'events = ["order.status_changed", "line_item.status_changed"]\n')
        config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", webhook_url=receiver.url,
                              journald=False, interval="100ms", extra=extra)
        kill_at_random_moments(binary, config, tmp_path, kills, seed=4321)
        history = run_until_drained(binary, config, tmp_path, sim)
    finally:
        sim.stop()
        pd.stop()
    by_order = {}
    for e in history:
        by_order.setdefault(e["order"]["id"], []).append(e["sequence"])
    for order, seqs in by_order.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"{order}: {seqs}"
    expected = [e["id"] for e in history if e["type"] != "order.first_seen"]
    failed = json.loads(run_cli(binary, "deliveries", "--state", "failed", "--json", config=config, check=0).stdout)
    assert not failed, failed
    received = {
        "webhook": [e["id"] for e in receiver.events()],
        "eventbridge": [json.loads(m["Body"])["detail"]["id"] for m in moto.drain(bus_url)],
        "sns": [json.loads(json.loads(m["Body"])["Message"])["id"] for m in moto.drain(topic_url)],
    }
    for kind, ids in received.items():
        assert set(expected) <= set(ids), f"{kind}: events never delivered"
        assert len(ids) - len(set(ids)) <= kills * 10, f"{kind}: more duplicates than deliveries in flight"
    pd_types = {e["id"]: e["type"] for e in history}
    triggering = [i for i in expected if pd_types[i] in ("order.status_changed", "line_item.status_changed")]
    assert triggering and len(pd.accepted) >= len(triggering)
    assert not pd.invalid


def test_sighup_adds_an_eventbridge_sink(binary, tmp_path):
    """A sink added by a reload gets the events detected after it."""
    need(__import__("importlib").util.find_spec("botocore") is not None, "botocore")
    from aws_fakes import VerifyingAWS
    fake = VerifyingAWS("events")
    sim = Simulator(binary, speed=4)
    try:
        config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", journald=False, interval="100ms")
        proc, notify = start_daemon(binary, config, tmp_path)
        try:
            wait_for(lambda: notify.has("READY=1"), what="READY=1")
            write_config(config, sim.url, tmp_path / "s.db", journald=False, interval="100ms",
                         extra=f'[[eventbridge]]\nname = "bus"\nendpoint = "{fake.url}"\n')
            before = len(notify.messages)
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: any("READY=1" in m for _, m in notify.messages[before:]), what="READY=1 after reload")
            sim.advance(to="end")
            wait_for(lambda: fake.put_entries(), what="a PutEvents call after the reload")
            wait_outbox_drained(binary, config)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            notify.close()
    finally:
        sim.stop()
        fake.stop()
    assert fake.rejected == 0
    sent = {json.loads(entry["Detail"])["id"] for entries in fake.put_entries() for entry in entries}
    deliveries = json.loads(run_cli(binary, "deliveries", "--json", config=config, check=0).stdout)
    bus = {d["event_id"] for d in deliveries if d["sink"] == "bus"}
    assert bus and bus == sent
    assert all(d["state"] == "delivered" and d["sink_kind"] == "eventbridge" for d in deliveries if d["sink"] == "bus")


def test_pagerduty_routing_key_from_a_systemd_credential(binary, tmp_path):
    from aws_fakes import PAGERDUTY_KEY, FakePagerDuty
    pd = FakePagerDuty(PAGERDUTY_KEY)
    try:
        credentials = tmp_path / "credentials"
        credentials.mkdir()
        (credentials / "pagerduty-oncall").write_text(PAGERDUTY_KEY + "\n")
        config = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", tmp_path / "s.db", journald=False,
                              extra=f'[[pagerduty]]\nname = "oncall"\nurl = "{pd.url}"\n')
        env = {"CREDENTIALS_DIRECTORY": str(credentials)}
        out = run_cli(binary, "test-sink", "oncall", config=config, env=env, check=0)
        assert "oncall: delivered (HTTP 202)" in out.stdout and not pd.invalid
        # Without the credential the sink cannot start: a configuration error naming it, not the key.
        out = run_cli(binary, "test-sink", "oncall", config=config)
        assert out.returncode == 78 and "pagerduty-oncall" in out.stderr, out.stderr
    finally:
        pd.stop()


def test_pagerduty_error_and_not_found_incidents(binary, tmp_path):
    """An order going to ERROR triggers a critical incident, leaving ERROR resolves it, and an
    order that vanishes triggers not_found: driven through the simulator, step by step."""
    from aws_fakes import PAGERDUTY_KEY, FakePagerDuty
    order = ORDER_1
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({
        "orders": [{"OrderId": order, "OutpostId": "op-0123456789abcdef0", "Status": "PREPARING",
                    "OrderType": "OUTPOST", "LineItems": []}],
        "timeline": [{"at": 1, "order": order, "status": "ERROR"},
                     {"at": 2, "order": order, "status": "IN_PROGRESS"},
                     {"at": 3, "order": order, "deleteOrder": True}]}))
    pd = FakePagerDuty(PAGERDUTY_KEY)
    sim = Simulator(binary, speed=0, scenario=scenario)
    try:
        (tmp_path / "pd.key").write_text(PAGERDUTY_KEY)
        config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", orders=(order,), journald=False,
                              interval="100ms",
                              extra=f'[[pagerduty]]\nname = "oncall"\nrouting_key_file = "{tmp_path / "pd.key"}"\n'
                                    f'url = "{pd.url}"\n')
        proc, notify = start_daemon(binary, config, tmp_path)
        try:
            wait_for(lambda: notify.has("READY=1"), what="READY=1")
            history = lambda: json.loads(run_cli(binary, "history", "--json", config=config, check=0).stdout)
            wait_for(lambda: len(history()) >= 1, what="the order first seen")
            for step, key, actions in ((1, "error", ["trigger"]), (2, "error", ["trigger", "resolve"]),
                                       (3, "not_found", ["trigger"])):
                sim.advance()
                wait_for(lambda: pd.pairs().get(f"outpostwatch/{order}/{key}") == actions, timeout=20,
                         what=f"step {step}: {key} {actions}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            notify.close()
    finally:
        sim.stop()
        pd.stop()
    assert not pd.invalid, pd.invalid
    trigger = next(e for e in pd.accepted if e["dedup_key"] == f"outpostwatch/{order}/error")
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["class"] == "order.status_changed"
    assert trigger["payload"]["summary"].startswith(f"Order {order}")
    assert pd.pairs()[f"outpostwatch/{order}/stalled"] == ["resolve", "resolve"], "each status change resolves a stall"
