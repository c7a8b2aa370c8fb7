"""Daemon-level reliability: the real `outpostwatch run` against the real simulator, webhook
receivers and SQLite files while things go wrong around it.

- a webhook receiver that answers 503, then is gone (connection refused), then hangs, then comes
  back: every event arrives, signed, and the daemon's memory stays flat (the outbox is on disk);
- a throttling storm on GetOrder: no order is marked failing, the poller slows down, and every
  change is still detected afterwards;
- the state directory on a small tmpfs that fills up, a database that becomes read-only, a WAL
  left behind by SIGKILL: clear errors, no crash loop, nothing lost or doubled once it is fixed.

Short versions run in `make test`; RELIABILITY_FULL=1 (`make reliability`) runs the long ones.
Timings are only recorded as figures (the `figures` fixture), never asserted.
"""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from conftest import (ORDER_1, ORDER_2, Receiver, daemon_env, need, run_cli, wait_for, write_config)
from test_daemon import NotifySocket

FULL = os.environ.get("RELIABILITY_FULL") == "1"
MB = 1024 * 1024


# --- helpers -----------------------------------------------------------------------------------

class Daemon:
    """`outpostwatch run` with its own NOTIFY_SOCKET; stdout and stderr go to NAME.log."""

    def __init__(self, binary, config, workdir, name="daemon", verbose=False):
        self.notify = NotifySocket(Path(workdir) / f"{name}.sock")
        env = daemon_env({"NOTIFY_SOCKET": self.notify.path, "WATCHDOG_USEC": "2000000"})
        self.log_path = Path(workdir) / f"{name}.log"
        args = [binary, "run", "--config", str(config)] + (["--verbose"] if verbose else [])
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=log)

    @property
    def pid(self):
        return self.proc.pid

    def wait_ready(self, timeout=60):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited {self.proc.returncode} before READY=1:\n{self.log()[-3000:]}")
            return self.notify.has("READY=1")
        wait_for(ready, timeout=timeout, what="READY=1")

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self):
        return self.proc.poll() is None

    def rss_bytes(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.notify.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()


class HangServer:
    """Accepts TCP connections on a port and never answers them."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.connections = []
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections.append(conn)

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()
        for conn in self.connections:
            conn.close()


class RSSSampler:
    """Samples the daemon's VmRSS in the background while it runs."""

    def __init__(self, daemon, every=0.2):
        self.daemon = daemon
        self.samples = [daemon.rss_bytes()]
        self.every = every
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                self.samples.append(self.daemon.rss_bytes())
            except (OSError, AssertionError):
                return
            time.sleep(self.every)

    def stop(self):
        self.running = False
        self.thread.join(2)
        return self.samples


def cli_json(binary, config, *args):
    return json.loads(run_cli(binary, *args, "--json", config=config, check=0).stdout)


def history(binary, config):
    return cli_json(binary, config, "history")


def deliveries(binary, config, state):
    return cli_json(binary, config, "deliveries", "--state", state)


def assert_gapless(events):
    by_order = {}
    for e in events:
        by_order.setdefault(e["order"]["id"], []).append(e["sequence"])
    for order, seqs in by_order.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"{order}: gap or duplicate in {sorted(seqs)}"
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "duplicate event ids"
    return by_order


def assert_status_chains(events):
    """Each order's (and line item's) status events chain: every `from` is the previous `to`."""
    last = {}
    for e in sorted(events, key=lambda e: (e["order"]["id"], e["sequence"])):
        if e["type"] == "order.first_seen":
            last[(e["order"]["id"], None)] = e["change"]["to"]
        elif e["type"] == "order.status_changed":
            key = (e["order"]["id"], None)
            assert e["change"]["from"] == last.get(key), f"order status chain broken at {e}"
            last[key] = e["change"]["to"]
        elif e["type"] == "line_item.status_changed":
            key = (e["order"]["id"], e["line_item"]["id"])
            if key in last:
                assert e["change"]["from"] == last[key], f"line item status chain broken at {e}"
            last[key] = e["change"]["to"]


def final_statuses(events):
    statuses = {}
    for e in sorted(events, key=lambda e: (e["order"]["id"], e["sequence"])):
        statuses[e["order"]["id"]] = e["order"]["status"]
    return statuses


def extra_order_ids(count, tag):
    return [f"oo-{tag:05x}{i:012x}" for i in range(count)]


LINE_ITEM_CYCLE = ["PREPARING", "BUILDING", "SHIPPED", "DELIVERED", "INSTALLING", "INSTALLED"]


def extra_order(order_id, line_status):
    """A wire Order with one line item, for PUT /_simulator/orders."""
    return {"OrderId": order_id, "OutpostId": "op-0123456789abcdef0", "Status": "IN_PROGRESS",
            "PaymentOption": "ALL_UPFRONT", "PaymentTerm": "THREE_YEARS", "OrderType": "OUTPOST",
            "OrderSubmissionDate": 1794717903,
            "LineItems": [{"LineItemId": "ooi-" + order_id[3:], "CatalogItemId": "OR-8CVV0EV",
                           "Quantity": 1, "Status": line_status}]}


def put_round(sim, ids, round_no):
    """One line-item transition on every extra order (round 0 creates them)."""
    status = LINE_ITEM_CYCLE[round_no % len(LINE_ITEM_CYCLE)]
    for order_id in ids:
        sim.admin("PUT", f"/_simulator/orders/{order_id}", extra_order(order_id, status))


def sim_state(sim):
    return {o["OrderId"]: (o["Status"], dict(Counter(li.get("Status") for li in o.get("LineItems", []))))
            for o in sim.admin("GET", "/_simulator/orders")["Orders"]}


def caught_up(binary, config, sim):
    """The store holds what the simulator serves now, for every order: the daemon saw it all."""
    want = sim_state(sim)
    rows = cli_json(binary, config, "status")
    have = {r["order_id"]: (r["status"], r["line_items_by_status"]) for r in rows}
    return all(have.get(order) == state for order, state in want.items())


def query(db, sql, params=()):
    """A read-only look into the state database: the test's oracle where the CLI shows too little
    (`deliveries` lists the newest 1000 rows only; the long outage leaves more pending)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def sim_calls(sim):
    op = sim.stats().get("operations", {}).get("GetOrder", {})
    return op.get("calls", 0), op.get("answers", {}).get("ThrottlingException", 0)


def scrape_metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


# --- 1. receiver outage --------------------------------------------------------------------------

def test_receiver_outage_503_refused_hang_then_back(binary, simulator, receiver, tmp_path, figures):
    """The receiver answers 503, then is gone, then accepts connections and never answers, then
    comes back on the same port: every webhook-bound event of the history arrives, signed and
    identical to its history entry, and the daemon's RSS stays flat meanwhile."""
    extra = extra_order_ids(30 if FULL else 6, 0xa1)
    rounds = 4 if FULL else 1          # scenario steps per outage phase
    phase_seconds = 20 if FULL else 0  # each phase lasts at least this long
    put_round(simulator, extra, 0)
    port = receiver.port
    db = tmp_path / "s.db"
    config = write_config(tmp_path / "c.toml", simulator.url, db, orders=(ORDER_1, ORDER_2, *extra),
                          webhook_url=receiver.url, journald=False, interval="1s")
    daemon = Daemon(binary, config, tmp_path)
    receivers = [receiver]
    hang = None
    sampler = None
    round_no = 0
    try:
        daemon.wait_ready()
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the first polls")
        assert len(history(binary, config)) == 2 + len(extra)     # the baselines

        def transitions():
            """Rounds of changes (a scenario step in the first `rounds`, one transition per extra
            order in each) for at least `phase_seconds`; returns the new events once recorded."""
            nonlocal round_no
            before = {e["id"] for e in history(binary, config)}
            phase_start = time.monotonic()
            n = 0
            while n < rounds or time.monotonic() - phase_start < phase_seconds:
                n += 1
                round_no += 1
                if n <= rounds:
                    simulator.advance()
                put_round(simulator, extra, round_no)
                wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the daemon to see the changes")
            new = [e for e in history(binary, config) if e["id"] not in before]
            assert len(new) >= rounds + n * len(extra)
            return {e["id"] for e in new}

        def attempted(new_ids, condition):
            """Every delivery of these new events was tried at least once, the last try ending as
            `condition` (SQL) says; returns the last errors."""
            ids = sorted(new_ids)
            rows = query(db, f"SELECT last_error FROM deliveries WHERE sink = 'ops' AND state = 'pending'"
                             f" AND attempts >= 1 AND {condition} AND event_id IN ({','.join('?' * len(ids))})", ids)
            return len(rows) == len(ids) and [r[0] for r in rows]

        start = time.monotonic()
        sampler = RSSSampler(daemon)
        outage_events = 0
        # Phase A: 503.
        receiver.status = 503
        new = transitions()
        outage_events += len(new)
        wait_for(lambda: attempted(new, "last_status = 503"), timeout=60, what="attempts answered 503")
        # Phase B: nobody listens (connection refused).
        receiver.stop()
        new = transitions()
        outage_events += len(new)
        errors = wait_for(lambda: attempted(new, "last_status IS NULL AND last_error IS NOT NULL"), timeout=60,
                          what="attempts refused")
        assert all("refused" in e.lower() for e in errors), errors[:3]
        # Phase C: a server that accepts and never answers; the 2 s webhook timeout ends each try.
        # The sink's 4 slots then turn over every 2 s: twice that many attempts ended by the
        # timeout show the dispatcher is not stuck on the hung connections (it would be stuck
        # after 4 without a timeout). The backlog is not all tried in this phase (2 tries/s).
        hang = HangServer(port)
        new = transitions()
        outage_events += len(new)

        timed_out = ("SELECT count(*) FROM deliveries WHERE sink = 'ops' AND state = 'pending' AND last_status IS NULL"
                     " AND (last_error LIKE '%deadline%' OR last_error LIKE '%time%')")
        wait_for(lambda: query(db, timed_out)[0][0] >= 8, timeout=120,
                 what="attempts ended by the timeout against the hanging server")
        assert len(hang.connections) >= 8, "the hanging server saw fewer connections than timed-out attempts"
        outage_seconds = time.monotonic() - start
        samples = sampler.stop()
        # Phase D: a normal receiver on the same port.
        hang.stop()
        hang = None
        back = Receiver(port=port)
        receivers.append(back)
        back_at = time.monotonic()
        backlog = query(db, "SELECT count(*) FROM deliveries WHERE sink = 'ops' AND state = 'pending'")[0][0]
        assert backlog, "nothing was pending at the end of the outage"
        simulator.advance(to="end")
        round_no += 1
        put_round(simulator, extra, round_no)
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the daemon to see the last changes")
        events = history(binary, config)
        expected = {e["id"]: e for e in events if e["type"] != "order.first_seen"}

        # Retries keep their backoff (up to minutes after a long outage): wait as long as the
        # outbox says, and fail as soon as a row is a minute past its due time, undelivered.
        nothing_pending_since = None
        while not expected.keys() <= {e["id"] for r in receivers for e in r.events()}:
            latest = query(db, "SELECT max(next_attempt_at) FROM deliveries WHERE sink = 'ops' AND state = 'pending'")[0][0]
            now = time.time()
            if latest is None:      # nothing pending, yet something missing: give it a minute
                nothing_pending_since = nothing_pending_since or now
                latest = nothing_pending_since
            assert now - latest < 60 and time.monotonic() - back_at < 3600, (
                "deliveries due more than a minute ago have not reached the receiver (or an event has no pending delivery)")
            time.sleep(0.2)
        recovery = time.monotonic() - back_at
        wait_for(lambda: not [d for d in deliveries(binary, config, "pending") if d["sink"] == "ops"],
                 timeout=30, what="the outbox to drain")
        assert deliveries(binary, config, "failed") == []
        assert daemon.alive()
        end_rss = daemon.rss_bytes()
    finally:
        if sampler:
            sampler.stop()
        if hang:
            hang.stop()
        daemon.stop()
        for r in receivers[1:]:
            r.stop()

    assert_gapless(events)
    assert final_statuses(events)[ORDER_1] == "COMPLETED"
    assert final_statuses(events)[ORDER_2] == "CANCELLED"
    # What arrived is exactly what history says, and every 2xx-answered request verified.
    received = {}
    for r in receivers:
        for e in r.events():
            received.setdefault(e["id"], e)
    for event_id, event in expected.items():
        assert received[event_id] == event
    assert not [e for e in received.values() if e["type"] == "order.first_seen"]
    assert all(req["verified"] for r in receivers for req in r.requests), "a request failed signature verification"
    delivered, attempts = query(db, "SELECT count(*), sum(attempts) FROM deliveries WHERE sink = 'ops' AND state = 'delivered'")[0]
    assert delivered == len(expected)

    start_rss, max_rss = samples[0], max(samples)
    figures("outage: events during the outage", outage_events, "events")
    figures("outage: outage duration", outage_seconds, "s")
    figures("outage: RSS at outage start", start_rss / MB, "MB")
    figures("outage: RSS max during outage", max_rss / MB, "MB")
    figures("outage: RSS after recovery", end_rss / MB, "MB")
    figures("outage: receiver back to all delivered", recovery, "s")
    figures("outage: backlog when the receiver came back", backlog, "deliveries")
    figures("outage: delivery attempts per event", attempts / max(1, delivered), "attempts")
    # The outbox lives in SQLite: hundreds of undeliverable events must not grow the heap.
    assert max_rss < start_rss + 30 * MB, f"RSS grew from {start_rss / MB:.1f} MB to {max_rss / MB:.1f} MB"


# --- 2. throttling storm -------------------------------------------------------------------------

def test_throttling_storm_slows_down_without_failing_orders(binary, simulator, tmp_path, figures):
    """Every second GetOrder is throttled for a stretch of wall time (60 s full, 10 s short):
    no order is marked failing, every throttled answer is noticed, the poller slows below
    `max_rps`, and afterwards every change of the scenario is still detected."""
    from conftest import free_port
    max_rps = 10
    storm_seconds = 60 if FULL else 10
    extra = extra_order_ids(4, 0xb2)
    put_round(simulator, extra, 0)
    port = free_port()
    # Demand (6 orders every 100 ms = 60 calls/s) far above max_rps: the limiter alone sets the pace.
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", orders=(ORDER_1, ORDER_2, *extra),
                          journald=False, interval="100ms",
                          extra=f'[http]\nlisten = "127.0.0.1:{port}"\n')
    text = Path(config).read_text().replace("max_rps = 200", f"max_rps = {max_rps}")
    Path(config).write_text(text)
    daemon = Daemon(binary, config, tmp_path)
    try:
        daemon.wait_ready()
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the first polls")

        def rate_over(seconds):
            calls0, throttled0 = sim_calls(simulator)
            t0 = time.monotonic()
            time.sleep(seconds)   # a measuring window, not an assertion
            calls1, throttled1 = sim_calls(simulator)
            return (calls1 - calls0) / (time.monotonic() - t0), throttled1 - throttled0

        before_rate, _ = rate_over(3)
        # No "for": it counts scenario time, which stands still at speed 0; the fault is removed
        # with DELETE after the stretch of wall time instead.
        simulator.admin("POST", "/_simulator/faults", {"kind": "throttle", "ratio": 0.5, "operation": "GetOrder"})
        storm_start = time.monotonic()
        storm_calls0, throttled0 = sim_calls(simulator)
        # Changes keep coming during the storm.
        steps_during = 0
        windows = []
        while time.monotonic() - storm_start < storm_seconds:
            simulator.advance()
            steps_during += 1
            windows.append(rate_over(min(5, storm_seconds / 2)))
        storm_calls1, throttled1 = sim_calls(simulator)
        storm_elapsed = time.monotonic() - storm_start
        simulator.admin("DELETE", "/_simulator/faults")
        storm_rate = (storm_calls1 - storm_calls0) / storm_elapsed
        throttled = throttled1 - throttled0
        # Right after the storm: nobody failing, the daemon alive.
        rows = cli_json(binary, config, "status")
        assert not [r for r in rows if r["failing"]], rows
        assert daemon.alive()
        # Every throttled answer was recognised as throttling (counted by the daemon).
        wait_for(lambda: scrape_metrics(port).get('outpostwatch_throttles_total{account="default"}') == sim_calls(simulator)[1],
                 timeout=30, what="the daemon's throttle count to match the simulator's")
        after_storm = time.monotonic()
        simulator.advance(to="end")
        wait_for(lambda: caught_up(binary, config, simulator), timeout=120, what="the daemon to catch up after the storm")
        catch_up = time.monotonic() - after_storm
        # How long the limiter takes to climb back (additive increase per successful call):
        # measured in 1 s windows until 80 % of max_rps, recorded only.
        while True:
            after_rate, _ = rate_over(1)
            recovered = time.monotonic() - after_storm
            if after_rate >= 0.8 * max_rps or recovered > (120 if FULL else 30):
                break
        rows = cli_json(binary, config, "status")
        events = history(binary, config)
        metrics = scrape_metrics(port)
    finally:
        daemon.stop()

    assert throttled > 0
    assert not [r for r in rows if r["failing"]], rows
    assert not [e for e in events if e["type"] in ("watch.failing", "watch.recovered")]
    assert_gapless(events)
    assert_status_chains(events)
    assert final_statuses(events)[ORDER_1] == "COMPLETED"
    assert final_statuses(events)[ORDER_2] == "CANCELLED"
    figures("throttle: GetOrder calls/s before the storm", before_rate, "calls/s")
    figures("throttle: GetOrder calls/s during the storm", storm_rate, "calls/s")
    figures("throttle: lowest 5 s window during the storm", min(w[0] for w in windows), "calls/s")
    figures("throttle: storm end to 80 % of max_rps again", recovered, "s")
    figures("throttle: throttled answers", throttled, "answers")
    figures("throttle: scenario steps during the storm", steps_during, "steps")
    figures("throttle: storm end to all changes seen", catch_up, "s")
    figures("throttle: polls failed (daemon metric)", metrics.get('outpostwatch_polls_total{account="default",result="failed"}', 0), "polls")
    # Backing off: each granted call is spaced by the (halved) rate and at most two client retries
    # follow a throttled one, so a limiter that backs off keeps the storm well under max_rps; one
    # that did not would be at max_rps plus the retries.
    assert storm_rate <= max_rps, f"{storm_rate:.1f} GetOrder calls/s during the storm (max_rps {max_rps})"


# --- 3. store faults -----------------------------------------------------------------------------

@pytest.fixture
def mounts(tmp_path):
    """Mounts file systems for a test (`mounts.tmpfs(size)`, `mounts.ext4(size)`) and always
    unmounts them afterwards, whatever happened."""
    need(os.geteuid() == 0, "root (the store fault tests mount file systems)")
    need(shutil.which("mount") and shutil.which("umount"), "mount and umount")
    done = []

    class Mounts:
        def tmpfs(self, size):
            target = tmp_path / f"tmpfs{len(done)}"
            target.mkdir()
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(target)],
                               capture_output=True, text=True)
            need(r.returncode == 0, f"mount -t tmpfs (as root with CAP_SYS_ADMIN): {r.stderr.strip()}")
            done.append(target)
            return target

        def ext4(self, size_mb):
            need(shutil.which("mkfs.ext4") and shutil.which("e2fsck"), "mkfs.ext4 and e2fsck (e2fsprogs)")
            image = tmp_path / f"ext4-{len(done)}.img"
            with open(image, "wb") as f:
                f.truncate(size_mb * MB)
            subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
            target = tmp_path / f"ext4-{len(done)}"
            target.mkdir()
            r = subprocess.run(["mount", "-o", "loop,errors=remount-ro", str(image), str(target)],
                               capture_output=True, text=True)
            need(r.returncode == 0, f"a loop-mounted ext4 (mount -o loop): {r.stderr.strip()}")
            done.append(target)
            return target, image

        def loop(self, image, target):
            subprocess.run(["mount", "-o", "loop", str(image), str(target)], check=True, capture_output=True)
            done.append(target)

        def remount(self, target, options):
            subprocess.run(["mount", "-o", f"remount,{options}", str(target)], check=True, capture_output=True)

        def umount(self, target):
            subprocess.run(["umount", str(target)], check=True, capture_output=True)
            done.remove(target)

    yield Mounts()
    for target in reversed(done):
        subprocess.run(["chattr", "-R", "-i", str(target)], capture_output=True)
        if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)


def fill(directory):
    """Writes a filler file until the file system is full; returns its path and size."""
    path = Path(directory) / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    written = 0
    try:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9):
            block = b"\0" * chunk
            while True:
                try:
                    written += os.write(fd, block)
                except OSError as e:
                    import errno
                    assert e.errno == errno.ENOSPC, e
                    break
        os.fsync(fd)
    finally:
        os.close(fd)
    return path, written


def store_errors(daemon):
    return [line for line in daemon.log().splitlines() if "could not record a poll result" in line]


def integrity(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_store_disk_full_then_freed(binary, simulator, receiver, tmp_path, mounts, figures):
    """The state directory (a small tmpfs) fills up while the daemon runs, an order changes and
    deliveries are due: the daemon logs a clear error at each failed commit, keeps running and
    does not resend deliveries it cannot record in a tight loop; once space is freed the change
    is recorded exactly once, everything after it too, and every event is delivered."""
    state = mounts.tmpfs("6m")
    db = state / "state.db"
    config = write_config(tmp_path / "c.toml", simulator.url, db, webhook_url=receiver.url,
                          journald=False, interval="1s")
    daemon = Daemon(binary, config, tmp_path)
    try:
        daemon.wait_ready()
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the first polls")
        # Three changes whose deliveries the receiver refuses for now: they wait in the outbox.
        receiver.status = 503
        simulator.advance(to=3)
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the first changes")
        wait_for(lambda: len(receiver.requests) >= 3, timeout=60, what="the first delivery attempts")
        waiting = len([d for d in deliveries(binary, config, "pending") if d["sink"] == "ops"])
        filler, size = fill(state)
        full_at = time.monotonic()
        requests_at_fill = len(receiver.requests)
        errors_before = len(store_errors(daemon))
        receiver.status = 204     # deliveries now get through, but their attempts cannot be recorded
        simulator.advance()       # ORDER_2 PREPARING -> IN_PROGRESS, while no commit can succeed
        hold = 6 if FULL else 2
        wait_for(lambda: len([l for l in store_errors(daemon)[errors_before:] if ORDER_2 in l]) >= hold
                 and len(receiver.requests) > requests_at_fill,
                 timeout=90, what="failed commits of the changed order and a delivery attempt while full")
        assert daemon.alive(), daemon.log()[-3000:]
        errors = store_errors(daemon)[errors_before:]
        assert all("full" in line for line in errors), errors[:3]
        requests_while_full = len(receiver.requests) - requests_at_fill
        # Reading stays possible while the disk is full.
        rows = cli_json(binary, config, "status")
        assert {r["order_id"]: r["status"] for r in rows}[ORDER_2] == "PREPARING"
        filler.unlink()
        freed_at = time.monotonic()
        wait_for(lambda: caught_up(binary, config, simulator), timeout=90, what="the change to be recorded after freeing")
        recovered = time.monotonic() - freed_at
        simulator.advance(to="end")
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the last changes")
        events = history(binary, config)
        expected = {e["id"] for e in events if e["type"] != "order.first_seen"}
        wait_for(lambda: expected <= {e["id"] for e in receiver.events()}, timeout=90,
                 what="every event to be delivered")
        wait_for(lambda: not [d for d in deliveries(binary, config, "pending") if d["sink"] == "ops"],
                 timeout=30, what="the outbox to drain")
        assert daemon.alive()
    finally:
        rc = daemon.stop()
    assert rc == 0
    assert integrity(db) == "ok"
    assert_gapless(events)
    assert_status_chains(events)
    went = [e for e in events if e["order"]["id"] == ORDER_2 and e["type"] == "order.status_changed"
            and e["change"]["to"] == "IN_PROGRESS"]
    assert len(went) == 1, went
    assert final_statuses(events) == {ORDER_1: "COMPLETED", ORDER_2: "CANCELLED"}
    accepted = [e["id"] for e in receiver.events()]     # requests answered 2xx
    figures("disk full: filler size", size / MB, "MB")
    figures("disk full: failed commits logged", len(errors), "commits")
    figures("disk full: seconds full", freed_at - full_at, "s")
    figures("disk full: webhook requests while full", requests_while_full, "requests")
    figures("disk full: freed to change recorded", recovered, "s")
    figures("disk full: duplicate deliveries (at least once)", len(accepted) - len(set(accepted)), "requests")
    # A delivery that got through but could not be recorded is sent again later (at least once),
    # not in a loop: a few tries per waiting delivery at most while the disk is full.
    assert requests_while_full <= 10 * max(1, waiting), (
        f"{requests_while_full} webhook requests for {waiting} waiting deliveries while the disk was full")


def test_store_read_only_at_start(binary, simulator, tmp_path, mounts, figures):
    """A database the daemon cannot write (immutable file: root ignores the mode bits; then a
    read-only file system) stops the daemon at start with exit 1 and a message saying so, before
    READY; the history stays readable; once writable again the daemon carries on where it was."""
    state = mounts.tmpfs("8m")
    db = state / "state.db"
    config = write_config(tmp_path / "c.toml", simulator.url, db, journald=False, interval="1s")
    daemon = Daemon(binary, config, tmp_path, name="first")
    try:
        daemon.wait_ready()
        simulator.advance(to=3)
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the first changes")
    finally:
        rc = daemon.stop()
    assert rc == 0
    before = history(binary, config)

    def refused_start(name):
        attempt = Daemon(binary, config, tmp_path, name=name)
        try:
            rc = attempt.proc.wait(30)
        finally:
            attempt.kill()
        assert rc == 1, attempt.log()
        assert not attempt.notify.has("READY=1")
        assert "read-only" in attempt.log(), attempt.log()
        return attempt.log().strip().splitlines()[-1]

    r = subprocess.run(["chattr", "+i", str(db)], capture_output=True, text=True)
    need(r.returncode == 0, f"chattr +i on a tmpfs: {r.stderr.strip()}")
    try:
        assert str(db) in refused_start("immutable")
        assert history(binary, config) == before
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    mounts.remount(state, "ro")
    try:
        assert str(db) in refused_start("read-only-fs")
        assert history(binary, config) == before
    finally:
        mounts.remount(state, "rw")
    daemon = Daemon(binary, config, tmp_path, name="again")
    try:
        daemon.wait_ready()
        simulator.advance(to="end")
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the last changes")
    finally:
        rc = daemon.stop()
    assert rc == 0
    events = history(binary, config)
    assert events[:len(before)] == before
    assert_gapless(events)
    assert_status_chains(events)
    assert final_statuses(events) == {ORDER_1: "COMPLETED", ORDER_2: "CANCELLED"}


def test_store_file_system_goes_read_only_while_running(binary, simulator, receiver, tmp_path, mounts, figures):
    """The ext4 file system holding the store hits an error and is remounted read-only under the
    running daemon (errors=remount-ro, triggered through ext4's trigger_fs_error): the daemon logs
    clear errors and keeps running; after a stop, fsck and remount, it starts again with every
    committed event intact and records the change it could not store before, once."""
    need(shutil.which("findmnt"), "findmnt (util-linux)")
    target, image = mounts.ext4(32)
    source = subprocess.run(["findmnt", "-no", "SOURCE", str(target)], capture_output=True, text=True).stdout.strip()
    trigger = Path(f"/sys/fs/ext4/{os.path.basename(source)}/trigger_fs_error")
    need(trigger.exists(), f"ext4's {trigger} (kernel support to inject a file system error)")
    db = target / "state.db"
    config = write_config(tmp_path / "c.toml", simulator.url, db, webhook_url=receiver.url,
                          journald=False, interval="1s")
    daemon = Daemon(binary, config, tmp_path, name="before")
    try:
        daemon.wait_ready()
        simulator.advance(to=3)
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the first changes")
        committed = history(binary, config)
        trigger.write_text("outpostwatch reliability test\n")
        options = subprocess.run(["findmnt", "-no", "OPTIONS", str(target)], capture_output=True, text=True).stdout
        assert "ro" in options.split(",") or "emergency_ro" in options, options
        errors_before = len(store_errors(daemon))
        simulator.advance()       # ORDER_2 PREPARING -> IN_PROGRESS, not storable now
        wait_for(lambda: len([l for l in store_errors(daemon)[errors_before:] if ORDER_2 in l]) >= 2,
                 timeout=90, what="the daemon to report failed commits")
        assert daemon.alive(), daemon.log()[-3000:]
        errors = store_errors(daemon)[errors_before:]
        assert all(str(db) in line for line in errors), errors[:3]
        stop_started = time.monotonic()
        stop_rc = daemon.stop()
        stop_seconds = time.monotonic() - stop_started
    finally:
        daemon.kill()
    assert stop_rc == 0, "SIGTERM with the store read-only must still exit 0"
    mounts.umount(target)
    fsck = subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True, text=True)
    assert fsck.returncode in (0, 1), fsck.stdout + fsck.stderr     # 1: errors corrected
    mounts.loop(image, target)
    daemon = Daemon(binary, config, tmp_path, name="after")
    try:
        daemon.wait_ready()
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the change to be recorded")
        simulator.advance(to="end")
        wait_for(lambda: caught_up(binary, config, simulator), timeout=60, what="the last changes")
        events = history(binary, config)
        expected = {e["id"] for e in events if e["type"] != "order.first_seen"}
        wait_for(lambda: expected <= {e["id"] for e in receiver.events()}, timeout=90,
                 what="every event to be delivered")
    finally:
        rc = daemon.stop()
    assert rc == 0
    assert [e["id"] for e in events[:len(committed)]] == [e["id"] for e in committed], "a committed event was lost"
    assert_gapless(events)
    assert_status_chains(events)
    went = [e for e in events if e["order"]["id"] == ORDER_2 and e["type"] == "order.status_changed"
            and e["change"]["to"] == "IN_PROGRESS"]
    assert len(went) == 1, went
    assert final_statuses(events) == {ORDER_1: "COMPLETED", ORDER_2: "CANCELLED"}
    figures("read-only fs: failed commits logged", len(errors), "commits")
    figures("read-only fs: SIGTERM to exit with the store read-only", stop_seconds, "s")


def test_wal_left_by_sigkill_then_clean_start(binary, receiver, tmp_path, figures):
    """SIGKILL while commits are in flight leaves the -wal file behind; readers still see every
    committed event through it, the next start recovers it, and a clean stop checkpoints it away,
    leaving an intact database with no gap or duplicate."""
    from conftest import Simulator
    kills = 12 if FULL else 3
    sim = Simulator(binary, speed=0)
    extra = extra_order_ids(12, 0xc3)
    put_round(sim, extra, 0)
    db = tmp_path / "s.db"
    wal = Path(str(db) + "-wal")
    config = write_config(tmp_path / "c.toml", sim.url, db, orders=(ORDER_1, ORDER_2, *extra),
                          webhook_url=receiver.url, journald=False, interval="100ms")
    wal_sizes = []
    try:
        for k in range(kills):
            daemon = Daemon(binary, config, tmp_path, name=f"killed{k}")
            try:
                daemon.wait_ready()
                seen = len(history(binary, config))
                # Changes keep the daemon committing (events and deliveries) when the kill lands.
                sim.advance()
                put_round(sim, extra, k + 1)
                wait_for(lambda: len(history(binary, config)) > seen, timeout=60, what="commits under way")
            finally:
                daemon.kill()
            assert wal.exists() and wal.stat().st_size > 0, "SIGKILL left no -wal file"
            wal_sizes.append(wal.stat().st_size)
            left = history(binary, config)        # a reader over the leftover WAL
            assert_gapless(left)
        daemon = Daemon(binary, config, tmp_path, name="clean")
        try:
            daemon.wait_ready()
            assert [e["id"] for e in history(binary, config)[:len(left)]] == [e["id"] for e in left]
            sim.advance(to="end")
            put_round(sim, extra, kills + 1)
            wait_for(lambda: caught_up(binary, config, sim), timeout=60, what="the last changes")
            events = history(binary, config)
            expected = {e["id"] for e in events if e["type"] != "order.first_seen"}
            wait_for(lambda: expected <= {e["id"] for e in receiver.events()}, timeout=120,
                     what="every event to be delivered")
        finally:
            rc = daemon.stop()
    finally:
        sim.stop()
    assert rc == 0
    figures("sigkill: WAL left after the clean stop", round((wal.stat().st_size if wal.exists() else 0) / 1024), "KiB")
    assert integrity(db) == "ok"
    assert_gapless(events)
    assert_status_chains(events)
    statuses = final_statuses(events)
    assert statuses[ORDER_1] == "COMPLETED" and statuses[ORDER_2] == "CANCELLED"
    received = {e["id"]: e for e in receiver.events()}
    for e in events:
        if e["id"] in expected:
            assert received[e["id"]] == e
    figures("sigkill: kills during commits", kills, "kills")
    figures("sigkill: largest WAL left behind", round(max(wal_sizes) / 1024), "KiB")
