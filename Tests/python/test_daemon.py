"""The daemon under its service contract: sd_notify (READY, STATUS, WATCHDOG, RELOADING,
STOPPING) on a real datagram socket, SIGHUP reload, SIGTERM within 5 s, and crash safety
under SIGKILL at random moments."""
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (ORDER_1, ORDER_2, Simulator, daemon_env, run_cli, wait_for, wait_outbox_drained,
                      write_config)

FULL = os.environ.get("RELIABILITY_FULL") == "1"


class NotifySocket:
    """Binds NOTIFY_SOCKET like systemd does and records every datagram."""

    def __init__(self, path):
        self.path = str(path)
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def has(self, text):
        return any(text in m for _, m in self.messages)

    def close(self):
        self.running = False
        self.sock.close()


def start_daemon(binary, config, tmp_path, extra_env=None):
    notify = NotifySocket(tmp_path / "notify.sock")
    env = daemon_env({"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"})
    env.pop("WATCHDOG_PID", None)
    env.update(extra_env or {})
    log = open(tmp_path / "daemon.log", "ab")
    proc = subprocess.Popen([binary, "run", "--config", str(config)], env=env, stdout=log, stderr=log)
    return proc, notify


def kill_at_random_moments(binary, config, tmp_path, kills, seed):
    """Starts the daemon and SIGKILLs it after a random 0.05–0.6 s, `kills` times."""
    rng = random.Random(seed)
    for _ in range(kills):
        proc, notify = start_daemon(binary, config, tmp_path)
        time.sleep(rng.uniform(0.05, 0.6))
        proc.kill()
        proc.wait()
        notify.close()


def test_notify_ready_status_watchdog_reload_stopping(binary, simulator, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=False)
    proc, notify = start_daemon(binary, config, tmp_path)
    try:
        wait_for(lambda: notify.has("READY=1"), what="READY=1")
        assert notify.has("STATUS=watching 2 orders")
        wait_for(lambda: notify.has("WATCHDOG=1"), timeout=5, what="WATCHDOG=1")
        # Reload with a third order added.
        extra = '[[order]]\nid = "oo-00000000000000001"\n'
        write_config(config, simulator.url, tmp_path / "s.db", journald=False, extra=extra)
        before = len(notify.messages)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: any("RELOADING=1" in m for _, m in notify.messages[before:]), what="RELOADING=1")
        wait_for(lambda: any("READY=1" in m for _, m in notify.messages[before:]), what="READY=1 after reload")
        wait_for(lambda: notify.has("watching 3 orders"), what="status with 3 orders")
        # An invalid config keeps the running one.
        (tmp_path / "c.toml").write_text("[poll]\ninterval = 5\n")
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert proc.poll() is None, "an invalid config on reload must not stop the daemon"
        log = (tmp_path / "daemon.log").read_text()
        assert "c.toml:2:12" in log, log[-2000:]
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert time.monotonic() - start < 5
        assert notify.has("STOPPING=1")
        # A normal stop logs no error (the reload above logged the invalid config as errors).
        stop_log = (tmp_path / "daemon.log").read_text()[len(log):]
        assert not [line for line in stop_log.splitlines() if " error " in line], stop_log
        ready_at = next(t for t, m in notify.messages if "READY=1" in m)
        assert ready_at > 0
    finally:
        if proc.poll() is None:
            proc.kill()
        notify.close()


def test_signals_sent_the_moment_ready_arrives_are_handled(binary, simulator, tmp_path):
    """systemd may send a reload or a stop the moment it sees READY=1: the daemon must have its
    handlers in place by then (docs/service.md), not die of the signal's default action. Each
    round sends the signal within a millisecond of READY=1; the last stops it the same way."""
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=False)
    for round_ in range(4):
        proc, notify = start_daemon(binary, config, tmp_path)
        try:
            wait_for(lambda: notify.has("READY=1"), interval=0.0005, what="READY=1")
            if round_ < 3:
                before = len(notify.messages)
                proc.send_signal(signal.SIGHUP)
                wait_for(lambda: proc.poll() is not None or any("READY=1" in m for _, m in notify.messages[before:]),
                         what=f"READY=1 after a reload sent at READY=1 (round {round_ + 1})")
                assert proc.poll() is None, f"the daemon died of a SIGHUP sent at READY=1: {proc.returncode}"
                before = len(notify.messages)
                proc.send_signal(signal.SIGHUP)
                wait_for(lambda: any("READY=1" in m for _, m in notify.messages[before:]), interval=0.0005,
                         what="READY=1 after the second reload")
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(10)
            assert code == 0, f"a SIGTERM sent at READY=1 must stop the daemon gracefully, got {code}"
            assert notify.has("STOPPING=1")
        finally:
            if proc.poll() is None:
                proc.kill()
            notify.close()


def test_sigterm_during_a_hung_api_call_exits_within_5s(binary, simulator, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=False,
                          interval="100ms")
    simulator.admin("POST", "/_simulator/faults", {"kind": "hang", "count": 1000})
    proc, notify = start_daemon(binary, config, tmp_path)
    try:
        wait_for(lambda: notify.has("READY=1"), what="READY=1")
        time.sleep(0.5)   # polls are now hanging
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert time.monotonic() - start < 5
    finally:
        if proc.poll() is None:
            proc.kill()
        notify.close()


def test_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(binary, receiver, tmp_path):
    """The daemon is killed with SIGKILL at random instants while the simulator changes orders;
    afterwards the history has no gap or duplicate and every event reached the receiver."""
    kills = 100 if FULL else 12
    sim = Simulator(binary, speed=4)
    try:
        config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", webhook_url=receiver.url,
                              journald=False, interval="100ms")
        kill_at_random_moments(binary, config, tmp_path, kills, seed=1234)
        sim.advance(to="end")
        proc, notify = start_daemon(binary, config, tmp_path)
        try:
            wait_for(lambda: notify.has("READY=1"), what="READY=1")
            time.sleep(2)
            wait_outbox_drained(binary, config)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            notify.close()
        events = json.loads(run_cli(binary, "history", "--json", config=config, check=0).stdout)
        by_order = {}
        for e in events:
            by_order.setdefault(e["order"]["id"], []).append(e["sequence"])
        for order, seqs in by_order.items():
            assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"{order}: {seqs}"
        assert set(by_order) == {ORDER_1, ORDER_2}
        statuses = {e["order"]["id"]: e["order"]["status"] for e in events}
        assert statuses[ORDER_1] == "COMPLETED" and statuses[ORDER_2] == "CANCELLED"
        received = {e["id"] for e in receiver.events()}
        for e in events:
            if e["type"] != "order.first_seen":
                assert e["id"] in received, f"{e['type']} #{e['sequence']} never delivered"
    finally:
        sim.stop()


def test_metrics_and_health_endpoints(binary, simulator, tmp_path):
    import urllib.request
    from conftest import free_port
    port = free_port()
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=False,
                          extra=f'[http]\nlisten = "127.0.0.1:{port}"\n')
    proc, notify = start_daemon(binary, config, tmp_path)
    try:
        wait_for(lambda: notify.has("READY=1"), what="READY=1")

        def scrape():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    return r.read().decode()
            except OSError:
                return None
        text = wait_for(lambda: (t := scrape()) and 'outpostwatch_events_total{type="order.first_seen"} 2' in t and t,
                        what="two first_seen events in /metrics")
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        # The per-account series (docs/metrics.md): [aws] is the account "default".
        assert samples['outpostwatch_polls_total{account="default",result="ok"}'] >= 2
        assert samples['outpostwatch_api_latency_seconds_count{account="default"}'] >= 2
        assert (samples['outpostwatch_api_latency_seconds_bucket{account="default",le="+Inf"}']
                == samples['outpostwatch_api_latency_seconds_count{account="default"}'])
        assert samples['outpostwatch_last_successful_poll_timestamp_seconds{account="default"}'] > time.time() - 60
        assert "# TYPE outpostwatch_api_latency_seconds histogram" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        notify.close()
