"""Stalled orders and line items (docs/events.md, Stalls) from outside: the daemon against the
simulator with thresholds of seconds. Once per stay, across a restart, a new stay after a status
change, line items too, and `since` from OrderSubmissionDate for an order first seen PREPARING."""
import json
import signal
import subprocess
import time

from conftest import Simulator, daemon_env, run_cli, wait_for, write_config

ORDER = "oo-00000000000005a11"


def wire_order(status, line_status, submitted):
    return {"OrderId": ORDER, "OutpostId": "op-0123456789abcdef0", "Status": status,
            "PaymentOption": "ALL_UPFRONT", "PaymentTerm": "THREE_YEARS", "OrderType": "OUTPOST",
            "OrderSubmissionDate": submitted,
            "LineItems": [{"LineItemId": "ooi-00000000000005a11", "CatalogItemId": "OR-8CVV0EV",
                           "Quantity": 1, "Status": line_status}]}


def stalls(binary, config):
    result = run_cli(binary, "history", ORDER, "--json", config=config)
    if result.returncode != 0:      # the daemon has not created the store yet
        return []
    return [e for e in json.loads(result.stdout) if e["type"].endswith(".stalled")]


def start(binary, config, tmp_path):
    log = open(tmp_path / "daemon.log", "ab")
    return subprocess.Popen([binary, "run", "--config", str(config)], env=daemon_env(), stdout=log, stderr=log)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


def test_stalls_once_per_stay_across_restarts_and_new_stays(binary, tmp_path):
    sim = Simulator(binary, speed=0)
    try:
        submitted = int(time.time()) - 3600
        sim.admin("PUT", f"/_simulator/orders/{ORDER}", wire_order("PREPARING", "BUILDING", submitted))
        extra = "\n".join([
            "[stall.order]", 'PREPARING = "30m"', 'IN_PROGRESS = "3s"',
            "[stall.line_item]", 'SHIPPED = "2s"', 'NOT_A_KNOWN_STATUS = "1d"', ""])
        # Polls every 60 s: every stall below must come from the daemon waking for its threshold,
        # not from a poll.
        config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", orders=(ORDER,), journald=False,
                              interval="60s", extra=extra)
        assert run_cli(binary, "check-config", config=config).returncode == 0
        proc = start(binary, config, tmp_path)
        try:
            # PREPARING since the submission an hour ago: past 30 minutes at the first poll.
            wait_for(lambda: len(stalls(binary, config)) == 1, what="order.stalled for PREPARING")
            first = stalls(binary, config)[0]
            assert first["type"] == "order.stalled"
            assert first["change"] == {"field": "stalled", "from": None, "to": {
                "status": "PREPARING", "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(submitted)),
                "threshold": "30m"}}
        finally:
            stop(proc)
        # The same stay, after a restart: not again.
        proc = start(binary, config, tmp_path)
        try:
            time.sleep(3)
            assert len(stalls(binary, config)) == 1, "a stay is reported once, across restarts"
        finally:
            stop(proc)
        # A new stay: IN_PROGRESS with the line item SHIPPED. The daemon polls at start (the
        # first poll after a restart), so it sees the change, then wakes for both thresholds.
        sim.admin("PUT", f"/_simulator/orders/{ORDER}", wire_order("IN_PROGRESS", "SHIPPED", submitted))
        proc = start(binary, config, tmp_path)
        try:
            wait_for(lambda: len(stalls(binary, config)) == 3, timeout=30, what="the new stays' stalls")
            got = stalls(binary, config)
            kinds = sorted((e["type"], e["change"]["to"]["status"], e["change"]["to"]["threshold"]) for e in got[1:])
            assert kinds == [("line_item.stalled", "SHIPPED", "2s"), ("order.stalled", "IN_PROGRESS", "3s")]
            line = next(e for e in got if e["type"] == "line_item.stalled")
            assert line["line_item"]["id"] == "ooi-00000000000005a11"
            sequences = [e["sequence"] for e in json.loads(run_cli(
                binary, "history", ORDER, "--json", config=config, check=0).stdout)]
            assert sequences == list(range(1, len(sequences) + 1)), "stall events take their place in the sequence"
            time.sleep(4)
            assert len(stalls(binary, config)) == 3, "no repeat while the stays go on"
        finally:
            stop(proc)
        text = run_cli(binary, "history", ORDER, config=config, check=0).stdout
        assert "stalled in IN_PROGRESS since" in text and "(longer than 3s)" in text
    finally:
        sim.stop()


def test_bad_stall_durations_are_config_errors_at_their_position(binary, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[[order]]\nid = "oo-0123456789abcdef0"\n[stall.order]\nPREPARING = "3 weeks"\n'
                      '[stall]\nfoo = 1\n')
    result = run_cli(binary, "check-config", config=config)
    assert result.returncode == 78
    assert f"{config}:4:13: stall.order.PREPARING: bad duration" in result.stderr, result.stderr
    assert "foo" in result.stderr
