"""High availability on a shared PostgreSQL store, end to end: several real `outpostwatch run`
daemons with the same `[storage] url` against a real PostgreSQL server (pg_support.py, one per
test), the real simulator and webhook receivers on loopback.

The contract (docs/high-availability.md):
- every daemon sends READY=1 once connected; exactly one is the leader (polls and delivers), the
  others are standbys: `STATUS=standby, leader HOST:PID`; `/healthz` answers JSON with
  `"role": "leader"` or `"role": "standby"`; the logs say `became the leader` and `lost leadership`;
- the leader SIGKILLed, SIGSTOPped or its lock session terminated by the server: a standby leads
  within `takeover` + a few seconds, and a leader that lost its session stops polling,
  delivering and writing at once and becomes a standby;
- nothing is lost or doubled in the history (sequences 1..N per order, status chains intact) and
  every event reaches the webhook (at least once);
- `outpostwatch migrate-store` copies a SQLite store into an empty PostgreSQL one (a non-empty
  one is refused); every CLI command works with a `[storage] url`;
- a wrong password or an unreachable server is a clear error, retried without exiting; a
  restarted server is reconnected to; `url` with `path` is a configuration error (78); the
  password never appears in any output.

Daemons are told apart in the simulator by their access key id (each signs with its own: the
stats' `signers`, the requests' `x-amz-date`), and in deliveries by their webhook URL (in test
(c) each daemon's config points its sink `ops` at its own receiver). Timings are recorded as
figures (the `figures` fixture); the bounds asserted are the contract's.
"""
import calendar
import datetime
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import conftest
from conftest import (ORDER_1, ORDER_2, Receiver, daemon_env, free_port, record_output, run_cli,
                      wait_for, wait_outbox_drained, write_config)
from pg_support import APP_PASSWORD, SUPERUSER_PASSWORD, PostgresServer
from test_daemon import NotifySocket
from test_reliability import Daemon as SQLiteDaemon
from test_reliability import (assert_gapless, assert_status_chains, caught_up, cli_json, extra_order_ids,
                              final_statuses, put_round)

FULL = os.environ.get("RELIABILITY_FULL") == "1"
TAKEOVER = 4.0            # [storage] takeover in these tests ("4s"; the minimum is 3 s)
SLACK = 5.0               # the contract: a standby leads within takeover + a few seconds
WRONG_PASSWORD = "wrong-pw-Zq8vN3kT"
PASSWORDS = {"the outpostwatch role's password": APP_PASSWORD,
             "the superuser's password": SUPERUSER_PASSWORD,
             "the wrong password of the test": WRONG_PASSWORD}


# --- configs ---------------------------------------------------------------------------------------

def storage_lines(url, password_file, takeover=f"{int(TAKEOVER)}s"):
    return f'url = "{url}"\npassword_file = "{password_file}"\ntakeover = "{takeover}"'


def write_pg_config(path, simulator_url, url, password_file, orders=(ORDER_1, ORDER_2), webhook_url=None,
                    http_port=None, interval="200ms", takeover=f"{int(TAKEOVER)}s", extra=""):
    """write_config's config with `[storage] url, password_file, takeover` instead of `path`."""
    if http_port:
        extra = f'[http]\nlisten = "127.0.0.1:{http_port}"\n' + extra
    write_config(path, simulator_url, "@STORE@", orders=orders, webhook_url=webhook_url, journald=False,
                 interval=interval, extra=extra)
    text = Path(path).read_text()
    assert 'path = "@STORE@"' in text
    Path(path).write_text(text.replace('path = "@STORE@"', storage_lines(url, password_file, takeover)))
    return path


# --- daemons -------------------------------------------------------------------------------------

class HADaemon:
    """`outpostwatch run --verbose` with its own config (its own [http] port and webhook URL, the
    same store), NOTIFY_SOCKET and access key id; log in NAME.log."""

    def __init__(self, binary, config, workdir, name, key, http_port, env=None):
        self.name = name
        self.key = key
        self.http_port = http_port
        self.config = config
        self.notify = NotifySocket(Path(workdir) / f"{name}.sock")
        full = daemon_env({"NOTIFY_SOCKET": self.notify.path, "WATCHDOG_USEC": "4000000",
                           "AWS_ACCESS_KEY_ID": key})
        full.pop("WATCHDOG_PID", None)
        full.update(env or {})
        self.log_path = Path(workdir) / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([binary, "run", "--verbose", "--config", str(config)], env=full,
                                         stdout=log, stderr=log, cwd=str(workdir))
        self.pid = self.proc.pid
        self.stopped = False      # SIGSTOPped by the test

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self):
        return self.proc.poll() is None

    def ready(self):
        return self.notify.has("READY=1")

    def wait_ready(self, timeout=30):
        def ready():
            if not self.alive():
                raise AssertionError(f"{self.name} exited {self.proc.returncode} before READY=1:\n{self.log()[-3000:]}")
            return self.ready()
        wait_for(ready, timeout=timeout, what=f"READY=1 from {self.name}")

    def statuses(self, since=0.0):
        return [m for t, m in self.notify.messages if t >= since and "STATUS=" in m]

    def health(self, timeout=1.0):
        """/healthz as JSON, or None when it does not answer 200 with JSON."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=timeout) as r:
                if r.status != 200:
                    return None
                return json.loads(r.read().decode())
        except (OSError, ValueError):
            return None

    def role(self):
        doc = self.health()
        return doc.get("role") if isinstance(doc, dict) else None

    def count(self, text):
        return self.log().count(text)

    def polls_logged(self):
        return self.count("GetOrder request")

    def stop_signal(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.stopped = True

    def cont(self):
        self.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.notify.close()
        record_output(f"notify messages of {self.name}", "\n".join(m for _, m in self.notify.messages))
        return self.proc.returncode


class Cluster:
    """Daemons sharing one PostgreSQL store; `config` is a config for the CLI commands."""

    def __init__(self, binary, postgres, workdir, sim, orders=(ORDER_1, ORDER_2), receiver=None,
                 interval="200ms", url=None, password_file=None):
        self.binary = binary
        self.postgres = postgres
        self.workdir = Path(workdir)
        self.sim = sim
        self.orders = orders
        self.receiver = receiver
        self.interval = interval
        self.url = url or postgres.url()
        self.password_file = password_file or postgres.password_file(self.workdir / "pg.pw")
        self.daemons = []
        self.config = write_pg_config(self.workdir / "cli.toml", sim.url, self.url, self.password_file,
                                      orders=orders, webhook_url=receiver.url if receiver else None,
                                      interval=interval)

    def start(self, name, receiver=None, password_file=None, url=None):
        port = free_port()
        receiver = receiver or self.receiver
        config = write_pg_config(self.workdir / f"{name}.toml", self.sim.url, url or self.url,
                                 password_file or self.password_file, orders=self.orders,
                                 webhook_url=receiver.url if receiver else None, http_port=port,
                                 interval=self.interval)
        key = ("AKIDHA" + re.sub(r"[^A-Z0-9]", "", name.upper()) + "0" * 14)[:20]
        daemon = HADaemon(self.binary, config, self.workdir, f"ha-{name}", key, port)
        daemon.receiver = receiver
        self.daemons.append(daemon)
        return daemon

    def running(self):
        """The daemons alive, not SIGSTOPped, and connected once (READY=1)."""
        return [d for d in self.daemons if d.alive() and not d.stopped and d.ready()]

    def any_leader(self):
        return next((d for d in self.running() if d.role() == "leader"), None)

    def roles(self):
        return {d.name: d.role() for d in self.running()}

    def one_leader(self):
        """The leader when exactly one running daemon says `leader` and every other says
        `standby`; else None."""
        daemons = self.running()
        roles = [d.role() for d in daemons]
        leaders = [d for d, r in zip(daemons, roles) if r == "leader"]
        if len(leaders) == 1 and all(r == "standby" for r in roles if r != "leader"):
            return leaders[0]
        return None

    def wait_leader(self, timeout=TAKEOVER + 20, what="exactly one leader, the others standbys"):
        return wait_for(self.one_leader, timeout=timeout, interval=0.05, what=what)

    def stop_all(self):
        for d in self.daemons:
            d.stop()


@pytest.fixture
def ha(binary, postgres, tmp_path, monkeypatch):
    """Makes Clusters on the test's PostgreSQL server; stops their daemons afterwards (before the
    server stops). The test runs in its tmp_path, so a binary that ignored `url` for the default
    `./outpostwatch.db` would not write into the checkout."""
    monkeypatch.chdir(tmp_path)
    clusters = []

    def make(sim, **kwargs):
        cluster = Cluster(binary, postgres, tmp_path, sim, **kwargs)
        clusters.append(cluster)
        return cluster
    yield make
    for cluster in clusters:
        cluster.stop_all()


class Changer:
    """Keeps orders changing in the simulator from a thread: a line-item transition on every extra
    order every `every` seconds, and one scenario step every `step_every` rounds, `steps` at most."""

    def __init__(self, sim, extra, every=0.3, steps=3, step_every=4):
        self.sim = sim
        self.extra = extra
        self.every = every
        self.steps = steps
        self.step_every = step_every
        self.round = 0
        self.steps_done = 0
        self.error = None
        self.running = False
        self.thread = None

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def _loop(self):
        try:
            while self.running:
                self.round += 1
                put_round(self.sim, self.extra, self.round)
                if self.round % self.step_every == 0 and self.steps_done < self.steps:
                    self.sim.advance()
                    self.steps_done += 1
                time.sleep(self.every)
        except Exception as e:     # reported by stop()
            self.error = e

    def stop(self):
        self.running = False
        if self.thread:
            self.thread.join(10)
        assert self.error is None, f"the changer failed: {self.error!r}"

    def finish(self):
        """Stops, then the last changes: every remaining scenario step and one more round."""
        self.stop()
        self.sim.advance(to="end")
        self.round += 1
        put_round(self.sim, self.extra, self.round)


# --- oracles ---------------------------------------------------------------------------------------

def history(binary, config):
    return cli_json(binary, config, "history")


def leader_row(postgres):
    """(holder, pid) of the leader table's row, or None."""
    rows = postgres.psql("SELECT holder, pid FROM leader", check=False)
    if not rows or not rows[0][0]:
        return None
    return rows[0][0], int(rows[0][1])


def assert_holder_names(holder, daemon):
    host, _, pid = holder.rpartition(":")
    assert pid == str(daemon.pid), f"leader holder {holder!r} does not name {daemon.name} (pid {daemon.pid})"
    assert host, f"leader holder {holder!r} has no host"
    names = {socket.gethostname(), socket.getfqdn(), socket.gethostname().split(".")[0]}
    assert host in names or host.split(".")[0] in names, f"leader holder {holder!r}: host is not one of {names}"


def advisory_lock_sessions(postgres):
    """The sessions holding a granted advisory lock: [(backend pid, application_name, client port)]."""
    rows = postgres.psql(
        "SELECT DISTINCT a.pid, a.application_name, coalesce(a.client_port, -1) FROM pg_locks l"
        " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted")
    return [(int(pid), app, int(port)) for pid, app, port in rows]


def process_of_local_port(port, pids):
    """Which of `pids` owns the loopback TCP connection whose local port is `port`, or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return pid
        except OSError:
            continue
    return None


def leader_lock_session(postgres, cluster):
    """The backend pid of the one session holding the leader's advisory lock, checked to be a
    connection of the leader process."""
    sessions = advisory_lock_sessions(postgres)
    assert len(sessions) == 1, f"expected one session holding an advisory lock, found {sessions}"
    backend, app, port = sessions[0]
    assert app.startswith("outpostwatch"), f"the lock session's application_name is {app!r}"
    owner = process_of_local_port(port, [d.pid for d in cluster.daemons if d.alive()])
    return backend, owner


def assert_sql_history(postgres, events):
    """The events table agrees with `history --json`: the same ids, per order sequences 1..N, and
    each order's last_sequence is its last event's."""
    rows = postgres.psql("SELECT order_id, sequence, id FROM events ORDER BY order_id, sequence")
    by_order = {}
    for order_id, seq, _ in rows:
        by_order.setdefault(order_id, []).append(int(seq))
    for order_id, seqs in by_order.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"{order_id}: gap or duplicate in the events table: {seqs}"
    assert {r[2] for r in rows} == {e["id"] for e in events}, "the events table and history --json differ"
    last = dict(postgres.psql("SELECT order_id, last_sequence FROM orders"))
    for order_id, seqs in by_order.items():
        assert int(last[order_id]) == len(seqs), f"{order_id}: last_sequence {last[order_id]} but {len(seqs)} events"


def assert_all_delivered(events, receivers, timeout=60):
    expected = {e["id"] for e in events if e["type"] != "order.first_seen"}
    received = lambda: {e["id"] for r in receivers for e in r.events()}   # noqa: E731
    wait_for(lambda: expected <= received(), timeout=timeout,
             what=f"every event to reach the webhook ({len(expected - received())} missing)")
    assert all(req["verified"] for r in receivers for req in r.requests), "a webhook failed signature verification"
    return expected


def signer_calls(sim, key):
    return sim.stats().get("signers", {}).get(key, {}).get("calls", 0)


def amz_epoch(value):
    return calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ"))


class RequestCollector:
    """Collects the simulator's request log (`GET /_simulator/requests`, the last 200 calls) from
    a thread, often enough that no call is missed while it runs."""

    def __init__(self, sim, every=0.25):
        self.sim = sim
        self.every = every
        self.seen = {}
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _collect(self):
        for r in self.sim.admin("GET", "/_simulator/requests") or []:
            h = r.get("headers", {})
            self.seen[(r.get("path"), h.get("x-amz-date"), h.get("authorization"))] = r

    def _loop(self):
        while self.running:
            try:
                self._collect()
            except OSError:
                pass
            time.sleep(self.every)

    def stop(self):
        self.running = False
        self.thread.join(5)
        self._collect()
        return list(self.seen.values())


def log_lines(daemon):
    """(time, line) of each log line that starts with the logger's timestamp."""
    out = []
    for line in daemon.log().splitlines():
        try:
            t = datetime.datetime.strptime(line[:24], "%Y-%m-%dT%H:%M:%S.%fZ")
        except ValueError:
            continue
        out.append((t, line))
    return out


def polls_while_not_leader(daemon, grace=0.1):
    """GetOrder requests the daemon logged more than `grace` seconds after a `lost leadership` and
    before its next `became the leader`."""
    bad = []
    lost_at = None
    for t, line in log_lines(daemon):
        if "lost leadership" in line:
            lost_at = t
        elif "became the leader" in line:
            lost_at = None
        elif lost_at and "GetOrder request" in line and (t - lost_at).total_seconds() > grace:
            bad.append(line)
    return bad


def standby_status_leader(daemon, since=0.0):
    """The HOST:PID the daemon's latest `STATUS=standby, leader HOST:PID` names, or None."""
    for message in reversed(daemon.statuses(since)):
        m = re.search(r"STATUS=standby, leader (\S+:\d+)", message)
        if m:
            return m.group(1)
    return None


def settle_first_polls(binary, cluster, sim):
    wait_for(lambda: caught_up(binary, cluster.config, sim), timeout=60, what="the first polls")


def finish_and_check(binary, cluster, sim, changer, receivers, postgres):
    """The last changes, then: caught up, gapless, chains intact, final statuses, every event
    delivered, SQL agreeing with the CLI. Returns the history."""
    changer.finish()
    wait_for(lambda: caught_up(binary, cluster.config, sim), timeout=90, what="the daemons to see the last changes")
    events = history(binary, cluster.config)
    assert_gapless(events)
    assert_status_chains(events)
    statuses = final_statuses(events)
    assert statuses[ORDER_1] == "COMPLETED" and statuses[ORDER_2] == "CANCELLED", statuses
    assert_all_delivered(events, receivers)
    assert_sql_history(postgres, events)
    return events


# --- a) two daemons, one leader --------------------------------------------------------------------

def two_daemons(cluster):
    """Daemons `a` and `b` started on `cluster`, ready: (leader, standby)."""
    a, b = cluster.start("a"), cluster.start("b")
    a.wait_ready()
    b.wait_ready()
    leader = cluster.wait_leader()
    return leader, (b if leader is a else a)


def test_two_daemons_exactly_one_leads(binary, simulator, receiver, postgres, ha, figures):
    cluster = ha(simulator, receiver=receiver)
    leader, standby = two_daemons(cluster)
    holder, pid = wait_for(lambda: leader_row(postgres), what="the leader row")
    assert pid == leader.pid
    assert_holder_names(holder, leader)
    # The leader's STATUS is the usual one; the standby's names the leader.
    wait_for(lambda: leader.notify.has("STATUS=watching 2 orders"), what="the leader's STATUS")
    wait_for(lambda: standby_status_leader(standby), what="STATUS=standby, leader HOST:PID")
    assert standby_status_leader(standby) == holder
    assert not standby.notify.has("STATUS=watching")
    # /healthz: JSON with the role.
    assert leader.role() == "leader" and standby.role() == "standby", (leader.health(), standby.health())
    # The lock is held by one session, a connection of the leader process.
    backend, owner = leader_lock_session(postgres, cluster)
    assert owner == leader.pid, f"the advisory lock is held by a connection of pid {owner}, not the leader {leader.pid}"

    settle_first_polls(binary, cluster, simulator)
    for _ in range(3):
        simulator.advance()
        wait_for(lambda: caught_up(binary, cluster.config, simulator), timeout=60, what="a change")
    events = history(binary, cluster.config)
    assert_all_delivered(events, [receiver])
    time.sleep(1)     # a few more poll rounds

    signers = simulator.stats()["signers"]
    assert signers.get(leader.key, {}).get("calls", 0) >= 4, signers
    assert standby.key not in signers, f"the standby called the Outposts API: {signers[standby.key]}"
    assert leader.polls_logged() > 0
    assert standby.polls_logged() == 0, "the standby logged polls"
    assert leader.count("became the leader") == 1
    assert standby.count("became the leader") == 0 and standby.count("lost leadership") == 0
    assert cluster.one_leader() is leader
    # The schema, owned by the role the daemons connect as.
    tables = dict(postgres.psql("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'"))
    for table in ("orders", "events", "deliveries", "delivery_attempts", "leader", "schema_version"):
        assert tables.get(table) == "outpostwatch", f"table {table}: {tables}"
    columns = {r[0] for r in postgres.psql("SELECT column_name FROM information_schema.columns WHERE table_name = 'leader'")}
    assert {"holder", "pid", "since", "heartbeat_at"} <= columns, columns
    assert_gapless(events)
    assert_sql_history(postgres, events)
    figures("ha: events recorded with two daemons", len(events), "events")


# --- b) SIGKILL of the leader ----------------------------------------------------------------------

def test_sigkill_leader_standby_takes_over(binary, simulator, receiver, postgres, ha, figures):
    extra = extra_order_ids(4, 0xd1)
    put_round(simulator, extra, 0)
    cluster = ha(simulator, receiver=receiver, orders=(ORDER_1, ORDER_2, *extra))
    leader, standby = two_daemons(cluster)
    settle_first_polls(binary, cluster, simulator)
    changer = Changer(simulator, extra).start()
    try:
        time.sleep(1.5)                        # changes being recorded and delivered
        killed_at = time.monotonic()
        leader.kill()
        wait_for(lambda: standby.role() == "leader", timeout=TAKEOVER + 30, interval=0.05,
                 what="the standby to take over")
        takeover = time.monotonic() - killed_at
        time.sleep(1.5)                        # changes seen by the new leader
    finally:
        changer.stop()
    figures("ha: SIGKILL of the leader to a standby leading", takeover, "s")
    assert takeover <= TAKEOVER + SLACK, f"takeover took {takeover:.1f} s (takeover {TAKEOVER} s)"
    assert standby.count("became the leader") == 1
    holder, pid = leader_row(postgres)
    assert pid == standby.pid
    assert_holder_names(holder, standby)
    # A replacement joins as a standby naming the new leader.
    c = cluster.start("c")
    c.wait_ready()
    wait_for(lambda: c.role() == "standby" and standby_status_leader(c) == holder, timeout=20,
             what="the replacement to be a standby naming the new leader")
    events = finish_and_check(binary, cluster, simulator, changer, [receiver], postgres)
    assert standby.key in simulator.stats()["signers"]
    assert c.key not in simulator.stats()["signers"]
    figures("ha: events after a SIGKILL takeover", len(events), "events")


def test_sighup_on_a_standby_rereads_the_config_it_then_leads_with(binary, simulator, receiver, postgres, ha):
    """`systemctl reload` on every node: a standby survives SIGHUP (its default action ends a
    process), logs what it read, keeps an invalid file out, and leads with the latest config."""
    extra = extra_order_ids(1, 0xd5)
    put_round(simulator, extra, 0)
    cluster = ha(simulator, receiver=receiver)
    leader, standby = two_daemons(cluster)
    valid = Path(standby.config).read_text() + f'\n[[order]]\nid = "{extra[0]}"\n'
    Path(standby.config).write_text("[poll]\ninterval = 5\n")
    standby.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in standby.log() or not standby.alive(), what="the invalid config refused")
    assert standby.alive(), f"a standby died of SIGHUP:\n{standby.log()[-2000:]}"
    Path(standby.config).write_text(valid)
    standby.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "applied when this standby leads" in standby.log() or not standby.alive(),
             what="the standby to read the new config")
    assert standby.alive() and standby.role() == "standby", standby.log()[-2000:]
    assert "orders=3" in standby.log(), standby.log()[-2000:]
    assert not standby.notify.has("STATUS=watching")
    leader.kill()
    wait_for(lambda: standby.role() == "leader", timeout=TAKEOVER + 30, interval=0.05, what="the standby to take over")
    wait_for(lambda: standby.notify.has("STATUS=watching 3 orders"), what="the new leader watching the re-read config")


# --- c) SIGSTOP of the leader ----------------------------------------------------------------------

def test_sigstop_leader_loses_its_session_and_writes_nothing_after(binary, simulator, receiver, postgres, ha,
                                                                   figures):
    extra = extra_order_ids(4, 0xd2)
    put_round(simulator, extra, 0)
    other = Receiver()
    try:
        cluster = ha(simulator, orders=(ORDER_1, ORDER_2, *extra))
        # Each daemon delivers to its own receiver: what arrives at the old leader's was sent by it.
        a, b = cluster.start("a", receiver=receiver), cluster.start("b", receiver=other)
        a.wait_ready()
        b.wait_ready()
        old = cluster.wait_leader()
        new = b if old is a else a
        settle_first_polls(binary, cluster, simulator)
        changer = Changer(simulator, extra).start()
        try:
            time.sleep(1.5)
            stopped_wall = time.time()
            stopped_at = time.monotonic()
            old.stop_signal()
            wait_for(lambda: new.role() == "leader", timeout=TAKEOVER + 30, interval=0.05,
                     what="the standby to take over from the stopped leader")
            takeover = time.monotonic() - stopped_at
            holder, pid = wait_for(lambda: (row := leader_row(postgres)) and row[1] == new.pid and row,
                                   timeout=10, what="the leader row to name the new leader")
            assert_holder_names(holder, new)
            new_calls = signer_calls(simulator, new.key)
            wait_for(lambda: signer_calls(simulator, new.key) > new_calls, what="the new leader polling")
            time.sleep(1.0)
            # Resume the old leader, changes still coming.
            simulator.admin("DELETE", "/_simulator/stats")
            collector = RequestCollector(simulator)
            old_requests_before = len(old.receiver.requests)
            resumed_wall = time.time()
            resumed_at = time.monotonic()
            old.cont()
            wait_for(lambda: old.count("lost leadership") >= 1, timeout=TAKEOVER + 10, interval=0.05,
                     what="the old leader to log `lost leadership`")
            noticed = time.monotonic() - resumed_at
            # Watch it for a while: it must not poll, deliver or take the leader row back.
            watch_until = time.monotonic() + 4
            while time.monotonic() < watch_until:
                row = leader_row(postgres)
                assert row and row[1] == new.pid, f"the leader row changed to {row} after the old leader resumed"
                time.sleep(0.2)
            assert old.alive(), old.log()[-3000:]
            wait_for(lambda: old.role() == "standby", timeout=10, what="the old leader to report standby")
            wait_for(lambda: standby_status_leader(old, since=resumed_at) == holder, timeout=10,
                     what="the old leader's STATUS to name the new leader")
            seen_requests = collector.stop()
        finally:
            if old.stopped:
                old.cont()
            changer.stop()
        figures("ha: SIGSTOP of the leader to a standby leading", takeover, "s")
        figures("ha: SIGCONT to `lost leadership` logged", noticed, "s")
        assert takeover <= TAKEOVER + SLACK, f"takeover took {takeover:.1f} s (takeover {TAKEOVER} s)"
        # Calls the old leader signed after it was stopped (requests signed before the stop and
        # still in flight then carry an older x-amz-date).
        late = [r for r in seen_requests if r.get("accessKeyId") == old.key
                and amz_epoch(r["headers"].get("x-amz-date", "19700101T000000Z")) >= int(stopped_wall) + 1]
        assert not late, f"the old leader called the Outposts API after it resumed: {late[:3]}"
        assert [r for r in seen_requests if r.get("accessKeyId") == new.key], "the request log missed the new leader"
        # Webhooks the old leader sent after the stop (its own receiver; webhook-timestamp is the
        # signing time).
        after = [r for r in old.receiver.requests[old_requests_before:]
                 if int(r["headers"].get("webhook-timestamp", "0")) >= int(stopped_wall) + 1]
        assert not after, f"the old leader delivered {len(after)} webhooks after it resumed"
        # No poll logged after it said it lost leadership.
        assert not polls_while_not_leader(old), "the old leader polled after logging `lost leadership`"
        assert old.count("became the leader") == 1
        assert resumed_wall - stopped_wall >= TAKEOVER
        events = finish_and_check(binary, cluster, simulator, changer, [receiver, other], postgres)
        assert leader_row(postgres)[1] == new.pid
        figures("ha: events after a SIGSTOP takeover", len(events), "events")
    finally:
        other.stop()


# --- d) the server ends the leader's lock session -------------------------------------------------

def test_terminated_lock_session_leader_stops_at_once(binary, simulator, receiver, postgres, ha, figures):
    extra = extra_order_ids(4, 0xd3)
    put_round(simulator, extra, 0)
    cluster = ha(simulator, receiver=receiver, orders=(ORDER_1, ORDER_2, *extra))
    a, b = cluster.start("a"), cluster.start("b")
    a.wait_ready()
    b.wait_ready()
    leader = cluster.wait_leader()
    settle_first_polls(binary, cluster, simulator)
    changer = Changer(simulator, extra).start()
    try:
        time.sleep(1.0)
        backend, owner = leader_lock_session(postgres, cluster)
        assert owner == leader.pid
        lost_before = leader.count("lost leadership")
        became_before = sum(d.count("became the leader") for d in cluster.daemons)
        assert postgres.psql(f"SELECT pg_terminate_backend({backend})") == [("t",)]
        t0 = time.monotonic()
        wait_for(lambda: leader.count("lost leadership") > lost_before, timeout=15, interval=0.02,
                 what="the leader to log `lost leadership`")
        noticed = time.monotonic() - t0
        wait_for(lambda: sum(d.count("became the leader") for d in cluster.daemons) > became_before,
                 timeout=TAKEOVER + 30, interval=0.05, what="a daemon to become the leader again")
        new = cluster.wait_leader(timeout=20)
        back = time.monotonic() - t0
        time.sleep(1.5)
    finally:
        changer.stop()
    figures("ha: lock session terminated to `lost leadership`", noticed, "s")
    figures("ha: lock session terminated to a leader again", back, "s")
    assert noticed <= 2.0, f"the leader noticed the end of its session after {noticed:.2f} s"
    assert back <= TAKEOVER + SLACK, f"leadership came back after {back:.1f} s"
    assert all(d.alive() for d in cluster.daemons)
    bad = polls_while_not_leader(leader)
    assert not bad, f"the old leader polled after it lost leadership: {bad[:3]}"
    backend2, owner2 = leader_lock_session(postgres, cluster)
    assert backend2 != backend and owner2 == new.pid
    finish_and_check(binary, cluster, simulator, changer, [receiver], postgres)


# --- e) SIGKILLs while events flow -----------------------------------------------------------------

def test_sigkill_leaders_at_random_moments_lose_nothing(binary, simulator, receiver, postgres, ha, figures):
    """The crash test of test_daemon.py on PostgreSQL: the leader is SIGKILLed at a random moment
    (0.05–0.6 s after it took over) while orders keep changing, a fresh daemon replaces it, again
    and again; afterwards the history has no gap or duplicate and every event was delivered."""
    kills = 20 if FULL else 5
    rng = random.Random(4321)
    extra = extra_order_ids(4, 0xd4)
    put_round(simulator, extra, 0)
    cluster = ha(simulator, receiver=receiver, orders=(ORDER_1, ORDER_2, *extra), interval="100ms")
    for name in ("a", "b"):
        cluster.start(name).wait_ready()
    changer = Changer(simulator, extra, every=0.2, steps=6, step_every=5).start()
    takeovers = []
    try:
        for k in range(kills):
            leader = cluster.wait_leader(timeout=TAKEOVER + 30)
            time.sleep(rng.uniform(0.05, 0.6))
            killed_at = time.monotonic()
            leader.kill()
            replacement = cluster.start(f"r{k}")
            wait_for(cluster.any_leader, timeout=TAKEOVER + 30, interval=0.05, what=f"a leader after kill {k + 1}")
            takeovers.append(time.monotonic() - killed_at)
            replacement.wait_ready()
        cluster.wait_leader(timeout=TAKEOVER + 30)
        time.sleep(1)
    finally:
        changer.stop()
    events = finish_and_check(binary, cluster, simulator, changer, [receiver], postgres)
    wait_outbox_drained(binary, cluster.config, timeout=60)
    accepted = [e["id"] for e in receiver.events()]
    figures("ha crash: leaders SIGKILLed", kills, "kills")
    figures("ha crash: longest kill to a leader again", max(takeovers), "s")
    figures("ha crash: mean kill to a leader again", sum(takeovers) / len(takeovers), "s")
    figures("ha crash: events", len(events), "events")
    figures("ha crash: duplicate deliveries (at least once)", len(accepted) - len(set(accepted)), "requests")
    assert max(takeovers) <= TAKEOVER + SLACK, f"takeovers {[round(t, 1) for t in takeovers]}"


# --- f) migrate-store ------------------------------------------------------------------------------

def sqlite_counts(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("orders", "events", "deliveries", "delivery_attempts")}
    finally:
        con.close()


def pg_counts(postgres):
    return {t: int(postgres.scalar(f"SELECT count(*) FROM {t}"))
            for t in ("orders", "events", "deliveries", "delivery_attempts")}


def test_migrate_store_copies_sqlite_history(binary, simulator, receiver, postgres, ha, tmp_path, figures):
    db = tmp_path / "s.db"
    sqlite_config = write_config(tmp_path / "sqlite.toml", simulator.url, db, webhook_url=receiver.url,
                                 journald=False, interval="200ms")
    daemon = SQLiteDaemon(binary, sqlite_config, tmp_path, name="sqlite-daemon")
    try:
        daemon.wait_ready()
        wait_for(lambda: caught_up(binary, sqlite_config, simulator), timeout=60, what="the first polls")
        for _ in range(4):
            simulator.advance()
            wait_for(lambda: caught_up(binary, sqlite_config, simulator), timeout=60, what="a change")
        wait_outbox_drained(binary, sqlite_config)
        # The last changes meet a failing receiver: pending deliveries with attempts get copied too.
        receiver.status = 503
        simulator.advance(to="end")
        wait_for(lambda: caught_up(binary, sqlite_config, simulator), timeout=60, what="the last changes")
        wait_for(lambda: any(d["attempts"] >= 1 for d in cli_json(binary, sqlite_config, "deliveries", "--state", "pending")),
                 timeout=30, what="a failed attempt")
    finally:
        rc = daemon.stop()
    assert rc == 0, daemon.log()[-3000:]
    counts = sqlite_counts(db)
    before = {"history": history(binary, sqlite_config),
              "status": cli_json(binary, sqlite_config, "status"),
              "deliveries": cli_json(binary, sqlite_config, "deliveries", "--limit", "0")}
    assert counts["events"] == len(before["history"]) and counts["delivery_attempts"] > 0
    assert {d["state"] for d in before["deliveries"]} == {"delivered", "pending"}

    pw = postgres.password_file(tmp_path / "pg.pw")
    t0 = time.monotonic()
    r = run_cli(binary, "migrate-store", "--from", str(db), "--to", postgres.url(), "--password-file", str(pw), check=0)
    figures("migrate-store: seconds", time.monotonic() - t0, "s")
    out = r.stdout + r.stderr
    for table, what in (("orders", "order"), ("events", "event"), ("deliveries", "deliver")):
        assert any(what in line.lower() and re.search(rf"\b{counts[table]}\b", line) for line in out.splitlines()), (
            f"migrate-store does not say it copied {counts[table]} {table}:\n{out}")
    assert pg_counts(postgres) == counts

    # Every CLI command reads the same from PostgreSQL.
    cluster = ha(simulator, receiver=receiver, password_file=pw)
    pg_config = cluster.config
    assert history(binary, pg_config) == before["history"]
    assert cli_json(binary, pg_config, "status") == before["status"]
    assert cli_json(binary, pg_config, "deliveries", "--limit", "0") == before["deliveries"]
    for order in (ORDER_1, ORDER_2):
        assert (cli_json(binary, pg_config, "history", order) == cli_json(binary, sqlite_config, "history", order))

    # A second migration into the same (now non-empty) database is refused, nothing changed.
    again = run_cli(binary, "migrate-store", "--from", str(db), "--to", postgres.url(), "--password-file", str(pw))
    assert again.returncode == 1, again.stdout + again.stderr
    assert "not empty" in (again.stdout + again.stderr).lower(), again.stderr
    assert pg_counts(postgres) == counts

    # A daemon on the migrated store carries on: no new first_seen, the pending deliveries go out.
    receiver.status = 204
    daemon = cluster.start("after-migration")
    daemon.wait_ready()
    cluster.wait_leader()
    calls = signer_calls(simulator, daemon.key)
    wait_for(lambda: signer_calls(simulator, daemon.key) >= calls + 4, timeout=30, what="polls on the migrated store")
    wait_outbox_drained(binary, pg_config, timeout=60)
    events = history(binary, pg_config)
    assert events == before["history"], "the daemon recorded events again after the migration"
    assert_all_delivered(events, [receiver])
    figures("migrate-store: events copied", counts["events"], "events")


def test_cli_commands_with_a_url(binary, simulator, receiver, postgres, ha, tmp_path):
    """status, history, deliveries, redeliver, check-config against a PostgreSQL store."""
    cluster = ha(simulator, receiver=receiver)
    daemon = cluster.start("a")
    daemon.wait_ready()
    cluster.wait_leader()
    settle_first_polls(binary, cluster, simulator)
    simulator.advance(to="end")
    wait_for(lambda: caught_up(binary, cluster.config, simulator), timeout=60, what="the changes")
    wait_outbox_drained(binary, cluster.config)
    config = cluster.config
    events = history(binary, config)
    for args in (("status",), ("history",), ("history", ORDER_1), ("deliveries",), ("deliveries", "--state", "delivered")):
        r = run_cli(binary, *args, config=config, check=0)
        assert r.stdout.strip(), f"{args}: no output"
    assert ORDER_1 in run_cli(binary, "status", config=config, check=0).stdout
    delivered = cli_json(binary, config, "deliveries", "--state", "delivered")
    assert {d["event_id"] for d in delivered} == {e["id"] for e in events if e["type"] != "order.first_seen"}
    target = next(e for e in events if e["type"] == "order.status_changed")
    count = len([e for e in receiver.events() if e["id"] == target["id"]])
    run_cli(binary, "redeliver", target["id"], config=config, check=0)
    assert len([e for e in receiver.events() if e["id"] == target["id"]]) == count + 1
    attempts = postgres.scalar(
        f"SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = '{target['id']}'")
    assert int(attempts) >= 2
    summary = run_cli(binary, "check-config", config=config, check=0).stdout
    assert f"127.0.0.1:{postgres.port}" in summary


# --- g) connection failures ------------------------------------------------------------------------

def error_lines(daemon, *needles):
    return [line for line in daemon.log().splitlines()
            if all(n.lower() in line.lower() for n in needles)]


def test_wrong_password_is_a_clear_error_and_retried(binary, simulator, postgres, ha, tmp_path):
    wrong = postgres.password_file(tmp_path / "wrong.pw", password=WRONG_PASSWORD)
    cluster = ha(simulator, password_file=wrong)
    daemon = cluster.start("a")
    server = f"127.0.0.1:{postgres.port}"
    wait_for(lambda: [l for l in error_lines(daemon, "127.0.0.1", str(postgres.port), "outpostwatch")
                      if "password" in l.lower() or "authentication" in l.lower()],
             timeout=20, what="an error naming the user and the server")
    # Retried: the server sees more failed logins, the daemon keeps running without READY=1.
    wait_for(lambda: postgres.log().count('password authentication failed for user "outpostwatch"') >= 2,
             timeout=30, what="a second login attempt")
    time.sleep(1)
    assert daemon.alive(), daemon.log()[-3000:]
    assert not daemon.ready(), "READY=1 without a store"
    assert daemon.role() != "leader"
    # The password the daemon sends becomes the right one: it connects on its own.
    postgres.psql(f"ALTER ROLE outpostwatch PASSWORD '{WRONG_PASSWORD}'")
    daemon.wait_ready(timeout=60)
    cluster.wait_leader(timeout=30)
    log = daemon.log()
    for what, secret in PASSWORDS.items():
        assert secret not in log, f"{what} in the daemon's log"
    assert server in log or (str(postgres.port) in log and "127.0.0.1" in log)


def test_unreachable_server_is_a_clear_error_and_retried(binary, simulator, postgres_template, ha_free, tmp_path):
    port = free_port()    # nothing listens there (yet)
    url = f"postgresql://outpostwatch@127.0.0.1:{port}/outpostwatch?sslmode=disable"
    pw = tmp_path / "pg.pw"
    pw.write_text(APP_PASSWORD + "\n")
    os.chmod(pw, 0o600)
    cluster = ha_free(simulator, url=url, password_file=pw)
    daemon = cluster.start("a")
    wait_for(lambda: [l for l in error_lines(daemon, "127.0.0.1", str(port))
                      if any(w in l.lower() for w in ("refused", "connect", "unreachable"))],
             timeout=20, what="an error naming the unreachable server")
    time.sleep(3)
    assert daemon.alive(), daemon.log()[-3000:]
    assert not daemon.ready(), "READY=1 without a store"
    server = PostgresServer(port=port, template=postgres_template)
    try:
        cluster.postgres = server
        daemon.wait_ready(timeout=60)
        cluster.wait_leader(timeout=30)
        wait_for(lambda: caught_up(binary, cluster.config, simulator), timeout=60, what="the first polls")
        assert int(server.scalar("SELECT count(*) FROM events")) == 2
    finally:
        cluster.stop_all()
        server.stop()


@pytest.fixture
def ha_free(binary, tmp_path, monkeypatch):
    """Clusters without the `postgres` fixture (their server is started by the test)."""
    monkeypatch.chdir(tmp_path)
    clusters = []

    def make(sim, **kwargs):
        cluster = Cluster(binary, None, tmp_path, sim, **kwargs)
        clusters.append(cluster)
        return cluster
    yield make
    for cluster in clusters:
        cluster.stop_all()


def test_postgres_restart_under_two_daemons(binary, simulator, receiver, postgres, ha, figures):
    extra = extra_order_ids(4, 0xd5)
    put_round(simulator, extra, 0)
    cluster = ha(simulator, receiver=receiver, orders=(ORDER_1, ORDER_2, *extra))
    a, b = cluster.start("a"), cluster.start("b")
    a.wait_ready()
    b.wait_ready()
    leader = cluster.wait_leader()
    settle_first_polls(binary, cluster, simulator)
    changer = Changer(simulator, extra).start()
    try:
        time.sleep(1.5)
        became_before = sum(d.count("became the leader") for d in cluster.daemons)
        t0 = time.monotonic()
        postgres.restart()
        restarted = time.monotonic() - t0
        wait_for(lambda: leader.count("lost leadership") >= 1, timeout=30, what="the leader to lose its session")
        wait_for(lambda: sum(d.count("became the leader") for d in cluster.daemons) > became_before,
                 timeout=TAKEOVER + 30, interval=0.05, what="a leader again after the restart")
        cluster.wait_leader(timeout=20)
        back = time.monotonic() - t0
        time.sleep(2)     # changes recorded after the restart
    finally:
        changer.stop()
    assert a.alive() and b.alive(), "a daemon exited when the server restarted"
    figures("ha: PostgreSQL restart (pg_ctl restart -m fast)", restarted, "s")
    figures("ha: restart to a leader again", back, "s")
    finish_and_check(binary, cluster, simulator, changer, [receiver], postgres)


# --- h) configuration errors, no password anywhere -------------------------------------------------

def test_url_with_path_or_short_takeover_is_a_config_error(binary, simulator, postgres, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pw = postgres.password_file(tmp_path / "pg.pw")
    config = write_pg_config(tmp_path / "both.toml", simulator.url, postgres.url(), pw)
    text = Path(config).read_text().replace("[storage]\n", f'[storage]\npath = "{tmp_path / "s.db"}"\n')
    Path(config).write_text(text)
    for command in ("check-config", "run"):
        r = run_cli(binary, command, config=config, timeout=20)
        assert r.returncode == 78, f"{command}: exit {r.returncode}\n{r.stdout}{r.stderr}"
        message = r.stderr.replace(str(config), "CONFIG")
        assert "CONFIG:" in message and "url" in message and "path" in message, r.stderr
    short = write_pg_config(tmp_path / "short.toml", simulator.url, postgres.url(), pw, takeover="2s")
    r = run_cli(binary, "check-config", config=short)
    assert r.returncode == 78 and "takeover" in r.stderr.replace(str(short), ""), r.stdout + r.stderr
    good = write_pg_config(tmp_path / "good.toml", simulator.url, postgres.url(), pw)
    r = run_cli(binary, "check-config", config=good, check=0)
    assert f"127.0.0.1:{postgres.port}" in r.stdout
    for what, secret in PASSWORDS.items():
        assert secret not in r.stdout + r.stderr, f"{what} in check-config's output"


def test_password_never_in_any_output(binary, simulator, receiver, postgres, ha, tmp_path, tmp_path_factory):
    """Provokes the paths where a password could leak (a verbose leader and standby, a daemon
    with a wrong password, a server restart, every CLI command), then scans everything the session
    captured: run_cli outputs, every *.log under the session's temp dir, every receiver request."""
    cluster = ha(simulator, receiver=receiver)
    a, b = cluster.start("a"), cluster.start("b")
    wrong = cluster.start("wrong", password_file=postgres.password_file(tmp_path / "wrong.pw", password=WRONG_PASSWORD))
    a.wait_ready()
    b.wait_ready()
    cluster.wait_leader()
    settle_first_polls(binary, cluster, simulator)
    simulator.advance(to="end")
    wait_for(lambda: caught_up(binary, cluster.config, simulator), timeout=60, what="the changes")
    postgres.restart()
    cluster.wait_leader(timeout=TAKEOVER + 30)
    for args in (("status",), ("status", "--json"), ("history",), ("history", "--json"), ("deliveries",),
                 ("deliveries", "--json"), ("check-config",), ("redeliver", "evt_doesnotexist")):
        run_cli(binary, *args, config=cluster.config)
    run_cli(binary, "migrate-store", "--from", str(tmp_path / "missing.db"), "--to", postgres.url(),
            "--password-file", str(tmp_path / "wrong.pw"))
    assert error_lines(wrong, "127.0.0.1", str(postgres.port)), "the wrong-password daemon logged no error"
    cluster.stop_all()

    texts = [(label, text) for label, text in conftest.CAPTURED_OUTPUTS]
    base = tmp_path_factory.getbasetemp()
    logs = list(base.rglob("*.log"))
    assert any(p.name.startswith("ha-") for p in logs)
    for path in logs:
        texts.append((str(path), path.read_text(errors="replace")))
    for r in conftest.RECEIVERS:
        for req in r.requests:
            texts.append(("a webhook request", req["body"].decode(errors="replace") + json.dumps(req["headers"])))
    for label, text in texts:
        for what, secret in PASSWORDS.items():
            assert secret not in text, f"{what} appears in {label}"
