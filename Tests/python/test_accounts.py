"""Several AWS accounts in one daemon (docs/configuration.md, "Accounts and regions"), end to end:
the real `outpostwatch run` against signature-verifying fake Outposts endpoints (one per
account) and a fake STS, both recomputing every SigV4 signature with botocore and the secret of
the key that signed; webhooks to a loopback receiver that verifies Standard Webhooks signatures.

- two accounts from two profiles of a shared credentials file, in two regions: each endpoint is
  asked only for its own orders, signed with its own key for its own region; events carry the
  account and region;
- a role per account assumed from a central account (RoleArn, ExternalId, signed by the central
  key), the Outposts calls signed with the temporary credentials and their session token;
- a throttling storm in one account leaves the other's calls per second where they were;
- bad credentials in one account fail its orders only, with errors naming the account;
- each configuration error about accounts, through check-config;
- SIGHUP adding and removing an account; a config with only [aws] is the account "default".
"""
import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from accounts_fakes import (FakeOutposts, FakeSTS, order_ids, wire_order, write_accounts_config,
                            write_credentials)
from conftest import (ORDER_1, ORDER_2, Simulator, daemon_env, run_cli, wait_for, write_config)
from test_daemon import NotifySocket

PROD_KEY, PROD_SECRET = "AKIAPRODTEST00000001", "prodSECRETdoNotLeak0123456789abcdefghijk"
LAB_KEY, LAB_SECRET = "AKIALABTEST000000002", "labSECRETdoNotLeak0123456789abcdefghijkl"
CENTRAL_KEY, CENTRAL_SECRET = "AKIACENTRAL000000003", "centralSECRETdoNotLeak0123456789abcdefg"
PROD_REGION, LAB_REGION = "us-west-2", "eu-central-1"
PROD_ROLE = "arn:aws:iam::111111111111:role/OutpostsRead"
LAB_ROLE = "arn:aws:iam::222222222222:role/OutpostsReadLab"


# --- helpers -----------------------------------------------------------------------------------

class Daemon:
    """`outpostwatch run` with its own NOTIFY_SOCKET and `env` laid over the test environment,
    without the environment's AWS keys (each account takes its profile's); log in NAME.log."""

    def __init__(self, binary, config, workdir, env=None, name="daemon"):
        self.notify = NotifySocket(Path(workdir) / f"{name}.sock")
        full = daemon_env({"NOTIFY_SOCKET": self.notify.path, "WATCHDOG_USEC": "2000000"})
        for key, value in (env or {}).items():
            if value == "":
                full.pop(key, None)
            else:
                full[key] = value
        self.log_path = Path(workdir) / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([binary, "run", "--config", str(config)], env=full, stdout=log, stderr=log)

    def wait_ready(self, timeout=60):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited {self.proc.returncode} before READY=1:\n{self.log()[-3000:]}")
            return self.notify.has("READY=1")
        wait_for(ready, timeout=timeout, what="READY=1")

    def reload(self):
        before = len(self.notify.messages)
        self.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: any("READY=1" in m for _, m in self.notify.messages[before:]), what="READY=1 after reload")
        assert self.proc.poll() is None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.notify.close()


def assert_no_secret(texts, extra=()):
    """No secret of the test's profiles (or handed out by the fake STS) in any of `texts`."""
    for secret in [PROD_SECRET, LAB_SECRET, CENTRAL_SECRET, "notTheSecret0123456789abcdefghijklmnop", *extra]:
        for text in texts:
            assert secret not in text, "a secret leaked into the daemon's output or events"


def history(binary, config):
    return json.loads(run_cli(binary, "history", "--json", config=config, check=0).stdout)


def status(binary, config):
    return json.loads(run_cli(binary, "status", "--json", config=config, check=0).stdout)


def seen(binary, config, want):
    """True once `history` has an event with the given order status for every order of `want`
    (order id -> status)."""
    latest = {}
    for e in history(binary, config):
        latest[e["order"]["id"]] = e["order"].get("status")
    return all(latest.get(order) == state for order, state in want.items())


def assert_only_own_calls(fake, key, region, own_orders, token=None):
    """Every call the fake got was well signed by `key` for `region`, and asked for its own orders."""
    calls = fake.snapshot()
    assert calls, f"{fake.name}: no calls"
    bad = [c for c in calls if c["answer"] in ("UnrecognizedClientException", "InvalidSignatureException",
                                                "IncompleteSignatureException", "MissingAuthenticationTokenException")]
    assert not bad, f"{fake.name}: refused signatures {bad[:3]}"
    assert {c["key"] for c in calls} <= ({key} if isinstance(key, str) else set(key)), f"{fake.name}: signed by {[c['key'] for c in calls][:5]}"
    assert {c["region"] for c in calls} == {region}
    asked = {c["order"] for c in calls if c["op"] == "GetOrder"}
    assert asked <= set(own_orders), f"{fake.name} was asked for another account's orders: {asked - set(own_orders)}"
    if token is not None:
        assert all(c["token"] == token for c in calls), f"{fake.name}: session token presence {token} expected"
    return calls


@pytest.fixture
def fakes():
    started = []

    def make(cls, *args, **kwargs):
        fake = cls(*args, **kwargs)
        started.append(fake)
        return fake
    yield make
    for fake in started:
        fake.stop()


# --- 1. two accounts, two profiles, two regions ---------------------------------------------------

def test_two_accounts_each_endpoint_sees_only_its_own_orders(binary, receiver, fakes, tmp_path):
    prod_orders, lab_orders = order_ids(2, 0xa1), order_ids(2, 0xa2)
    prod = fakes(FakeOutposts, "prod", PROD_REGION, {PROD_KEY: (PROD_SECRET, None)}, [wire_order(o) for o in prod_orders])
    lab = fakes(FakeOutposts, "lab", LAB_REGION, {LAB_KEY: (LAB_SECRET, None)}, [wire_order(o) for o in lab_orders])
    env = write_credentials(tmp_path, {"prod": {"aws_access_key_id": PROD_KEY, "aws_secret_access_key": PROD_SECRET},
                                       "lab": {"aws_access_key_id": LAB_KEY, "aws_secret_access_key": LAB_SECRET}})
    config = write_accounts_config(
        tmp_path / "c.toml", tmp_path / "s.db",
        [{"name": "prod", "region": PROD_REGION, "profile": "prod", "endpoint": prod.url},
         {"name": "lab", "region": LAB_REGION, "profile": "lab", "endpoint": lab.url}],
        [(o, "prod") for o in prod_orders] + [(o, "lab") for o in lab_orders], webhook=receiver.url)
    daemon = Daemon(binary, config, tmp_path, env=env)
    try:
        daemon.wait_ready()
        wait_for(lambda: seen(binary, config, {o: "PREPARING" for o in prod_orders + lab_orders}),
                 timeout=30, what="every order's first poll")
        # One change in each account.
        prod.set_order(wire_order(prod_orders[0], status="IN_PROGRESS"))
        lab.set_order(wire_order(lab_orders[1], status="IN_PROGRESS", line_status="BUILDING"))
        wait_for(lambda: seen(binary, config, {prod_orders[0]: "IN_PROGRESS", lab_orders[1]: "IN_PROGRESS"}),
                 timeout=30, what="both changes")
        wait_for(lambda: len([e for e in receiver.events() if e["type"] == "order.status_changed"]) >= 2,
                 timeout=30, what="both status changes delivered")
        events = history(binary, config)
    finally:
        daemon.stop()

    assert_no_secret([daemon.log(), json.dumps(events), json.dumps(receiver.events())])
    assert_only_own_calls(prod, PROD_KEY, PROD_REGION, prod_orders, token=False)
    assert_only_own_calls(lab, LAB_KEY, LAB_REGION, lab_orders, token=False)
    # Every order of each account was polled at its own endpoint.
    assert {c["order"] for c in prod.snapshot() if c["answer"] == "200"} == set(prod_orders)
    assert {c["order"] for c in lab.snapshot() if c["answer"] == "200"} == set(lab_orders)

    expected = {**{o: ("prod", PROD_REGION) for o in prod_orders}, **{o: ("lab", LAB_REGION) for o in lab_orders}}
    assert {e["order"]["id"] for e in events} == set(expected)
    for e in events:
        assert (e["order"]["account"], e["order"]["region"]) == expected[e["order"]["id"]], e
    delivered = receiver.events()
    assert delivered and all(r["verified"] for r in receiver.requests)
    for e in delivered:
        assert (e["order"]["account"], e["order"]["region"]) == expected[e["order"]["id"]], e
    changed = {e["order"]["id"]: e["order"]["account"] for e in delivered if e["type"] == "order.status_changed"}
    assert changed == {prod_orders[0]: "prod", lab_orders[1]: "lab"}
    # The webhook carries exactly what history holds.
    by_id = {e["id"]: e for e in events}
    assert all(by_id[e["id"]] == e for e in delivered)


def test_two_accounts_against_the_simulator_with_accounts(binary, fakes, tmp_path):
    """The same through `outpostwatch simulate` with a scenario declaring the two accounts: one
    endpoint, and the key and region of each call decide what it sees. An order configured under
    the wrong account is not found there, as at AWS."""
    stray = "oo-0000000000000abcd"
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({
        "orders": [wire_order(ORDER_1), wire_order(ORDER_2), wire_order(stray)],
        "timeline": [{"at": 1, "order": ORDER_1, "status": "IN_PROGRESS"},
                     {"at": 2, "order": ORDER_2, "status": "IN_PROGRESS"}],
        "accounts": [{"name": "prod", "accessKeyId": PROD_KEY, "region": PROD_REGION, "orders": [ORDER_1]},
                     {"name": "lab", "accessKeyId": LAB_KEY, "region": LAB_REGION, "orders": [ORDER_2, stray]}]}))
    sim = Simulator(binary, speed=0, scenario=scenario)
    try:
        env = write_credentials(tmp_path, {"prod": {"aws_access_key_id": PROD_KEY, "aws_secret_access_key": PROD_SECRET},
                                           "lab": {"aws_access_key_id": LAB_KEY, "aws_secret_access_key": LAB_SECRET}})
        config = write_accounts_config(
            tmp_path / "c.toml", tmp_path / "s.db",
            [{"name": "prod", "region": PROD_REGION, "profile": "prod", "endpoint": sim.url},
             {"name": "lab", "region": LAB_REGION, "profile": "lab", "endpoint": sim.url}],
            [(ORDER_1, "prod"), (ORDER_2, "lab"), (stray, "prod")])
        daemon = Daemon(binary, config, tmp_path, env=env)
        try:
            daemon.wait_ready()
            wait_for(lambda: seen(binary, config, {ORDER_1: "PREPARING", ORDER_2: "PREPARING"}), timeout=30,
                     what="the first polls")
            sim.advance(to="end")
            wait_for(lambda: seen(binary, config, {ORDER_1: "IN_PROGRESS", ORDER_2: "IN_PROGRESS"}), timeout=30,
                     what="both changes")
            wait_for(lambda: any(e["type"] == "order.not_found" and e["order"]["id"] == stray
                                 for e in history(binary, config)), timeout=30, what="the stray order not found")
            events = history(binary, config)
        finally:
            daemon.stop()
        stats = sim.stats()
        requests = sim.admin("GET", "/_simulator/requests")
    finally:
        sim.stop()

    signers = stats["signers"]
    assert set(signers) == {PROD_KEY, LAB_KEY}
    assert set(signers[PROD_KEY]["regions"]) == {PROD_REGION}
    assert set(signers[LAB_KEY]["regions"]) == {LAB_REGION}
    assert set(signers[LAB_KEY]["answers"]) == {"200"}
    # prod asked for its own order and for the one configured under it by mistake (not found).
    assert set(signers[PROD_KEY]["answers"]) == {"200", "NotFoundException"}
    for r in requests:
        own = {PROD_KEY: {ORDER_1, stray}, LAB_KEY: {ORDER_2}}[r["accessKeyId"]]
        assert r["path"].rsplit("/", 1)[-1] in own, r["path"]
        assert r["account"] == {PROD_KEY: "prod", LAB_KEY: "lab"}[r["accessKeyId"]]
    for e in events:
        want = ("lab", LAB_REGION) if e["order"]["id"] == ORDER_2 else ("prod", PROD_REGION)
        assert (e["order"]["account"], e["order"]["region"]) == want, e


# --- 2. a role per account, from a central account --------------------------------------------------

def test_role_per_account_assumed_from_a_central_account(binary, receiver, fakes, tmp_path):
    prod_orders, lab_orders = order_ids(2, 0xb1), order_ids(1, 0xb2)
    # The accounts' endpoints know no long-term key at all: only what STS hands out.
    prod = fakes(FakeOutposts, "prod", PROD_REGION, {}, [wire_order(o) for o in prod_orders])
    lab = fakes(FakeOutposts, "lab", LAB_REGION, {}, [wire_order(o) for o in lab_orders])
    sts = fakes(FakeSTS, CENTRAL_KEY, CENTRAL_SECRET,
                {PROD_ROLE: {"external_id": "prod-ext-7f3a", "outposts": prod},
                 LAB_ROLE: {"external_id": None, "outposts": lab}})
    env = write_credentials(tmp_path, {"central": {"aws_access_key_id": CENTRAL_KEY,
                                                   "aws_secret_access_key": CENTRAL_SECRET}})
    env["AWS_ENDPOINT_URL_STS"] = sts.url
    config = write_accounts_config(
        tmp_path / "c.toml", tmp_path / "s.db",
        [{"name": "prod", "region": PROD_REGION, "profile": "central", "role_arn": PROD_ROLE,
          "external_id": "prod-ext-7f3a", "endpoint": prod.url},
         {"name": "lab", "region": LAB_REGION, "profile": "central", "role_arn": LAB_ROLE, "endpoint": lab.url}],
        [(o, "prod") for o in prod_orders] + [(o, "lab") for o in lab_orders], webhook=receiver.url)
    daemon = Daemon(binary, config, tmp_path, env=env)
    try:
        daemon.wait_ready()
        wait_for(lambda: seen(binary, config, {o: "PREPARING" for o in prod_orders + lab_orders}),
                 timeout=30, what="every order's first poll")
        lab.set_order(wire_order(lab_orders[0], status="IN_PROGRESS"))
        wait_for(lambda: seen(binary, config, {lab_orders[0]: "IN_PROGRESS"}), timeout=30, what="the lab change")
        events = history(binary, config)
        rows = status(binary, config)
    finally:
        daemon.stop()

    assert_no_secret([daemon.log(), json.dumps(events), json.dumps(rows)], extra=sts.secrets)
    calls = sts.snapshot()
    assert calls, "STS was never called"
    for call in calls:
        assert call["signature"] is None, f"STS call not signed by the central key: {call}"
        assert call["key"] == CENTRAL_KEY
        assert call["action"] == "AssumeRole"
        assert call["answer"] == "200", call
    roles = {c["role"]: c for c in calls}
    assert set(roles) == {PROD_ROLE, LAB_ROLE}
    assert roles[PROD_ROLE]["external_id"] == "prod-ext-7f3a"
    assert roles[LAB_ROLE]["external_id"] is None, "external_id belongs to prod only"
    # Each role's STS call is signed for its account's region.
    assert roles[PROD_ROLE]["region"] == PROD_REGION and roles[LAB_ROLE]["region"] == LAB_REGION
    # Credentials are cached per account: one AssumeRole each for a run this short.
    assert len(calls) == 2, calls

    assert_only_own_calls(prod, sts.issued[PROD_ROLE], PROD_REGION, prod_orders, token=True)
    assert_only_own_calls(lab, sts.issued[LAB_ROLE], LAB_REGION, lab_orders, token=True)
    assert not [r for r in rows if r.get("failing")], rows
    assert {(e["order"]["id"], e["order"]["account"]) for e in events} == \
        {(o, "prod") for o in prod_orders} | {(o, "lab") for o in lab_orders}


# --- 3. a throttling storm in one account ---------------------------------------------------------

def test_throttling_storm_in_one_account_leaves_the_other_at_its_pace(binary, fakes, tmp_path):
    """Both accounts have 6 orders polled every 100 ms (60 calls/s wanted) and max_rps 5: each
    account's limiter sets its pace. Then every call of `storm` is throttled; `calm` must keep
    its calls per second within 20 % of what it had before."""
    max_rps, window = 5, 6.0
    storm_orders, calm_orders = order_ids(6, 0xc1), order_ids(6, 0xc2)
    storm = fakes(FakeOutposts, "storm", PROD_REGION, {PROD_KEY: (PROD_SECRET, None)}, [wire_order(o) for o in storm_orders])
    calm = fakes(FakeOutposts, "calm", LAB_REGION, {LAB_KEY: (LAB_SECRET, None)}, [wire_order(o) for o in calm_orders])
    env = write_credentials(tmp_path, {"storm": {"aws_access_key_id": PROD_KEY, "aws_secret_access_key": PROD_SECRET},
                                       "calm": {"aws_access_key_id": LAB_KEY, "aws_secret_access_key": LAB_SECRET}})
    config = write_accounts_config(
        tmp_path / "c.toml", tmp_path / "s.db",
        [{"name": "storm", "region": PROD_REGION, "profile": "storm", "endpoint": storm.url, "max_rps": max_rps},
         {"name": "calm", "region": LAB_REGION, "profile": "calm", "endpoint": calm.url, "max_rps": max_rps}],
        [(o, "storm") for o in storm_orders] + [(o, "calm") for o in calm_orders],
        interval="100ms", failing_after=1000)
    daemon = Daemon(binary, config, tmp_path, env=env)

    def rates(seconds):
        """Calls per second of both accounts over the same window."""
        start = time.monotonic()
        time.sleep(seconds)   # a measuring window
        elapsed = time.monotonic() - start
        return calm.count(since=start) / elapsed, storm.count(since=start) / elapsed

    try:
        daemon.wait_ready()
        wait_for(lambda: seen(binary, config, {o: "PREPARING" for o in storm_orders + calm_orders}),
                 timeout=30, what="every order's first poll")
        time.sleep(2)   # past the start's spreading of first polls
        calm_before, storm_before = rates(window)
        storm.throttle = True
        storm_start = time.monotonic()
        time.sleep(1)   # the storm account's first throttled answers
        calm_during, storm_during = rates(window)
        storm_seconds = time.monotonic() - storm_start
        storm_calls = storm.count(since=storm_start)
        throttled = storm.count(since=storm_start, answer="ThrottlingException")
        storm.throttle = False
        rows = status(binary, config)
        events = history(binary, config)
    finally:
        daemon.stop()

    ratio = calm_during / calm_before
    print(f"\nthrottling isolation (max_rps {max_rps} per account, {window:.0f} s windows): calm account "
          f"{calm_before:.2f} calls/s before, {calm_during:.2f} calls/s during the other's storm (ratio {ratio:.3f}); "
          f"storm account {storm_before:.2f} calls/s before, {storm_during:.2f} calls/s in the same window, "
          f"{storm_calls} calls ({throttled} throttled) in {storm_seconds:.1f} s of storm")
    assert throttled > 0 and storm_calls - throttled <= 1, "every storm call but one in flight at its start is throttled"
    assert calm.count(answer="ThrottlingException") == 0
    assert 0.8 <= ratio <= 1.2, f"calm account: {calm_before:.2f} -> {calm_during:.2f} calls/s (ratio {ratio:.2f})"
    # Throttling is no failure, and the calm account kept answering.
    assert not [r for r in rows if r.get("failing")], rows
    assert not [e for e in events if e["type"] == "watch.failing"]


# --- 4. bad credentials in one account -------------------------------------------------------------

@pytest.mark.parametrize("fault", ["wrong_secret", "unknown_key", "missing_secret"])
def test_bad_credentials_fail_only_that_accounts_orders(binary, fakes, tmp_path, fault):
    good_orders, bad_orders = order_ids(2, 0xd1), order_ids(2, 0xd2)
    good = fakes(FakeOutposts, "good", PROD_REGION, {PROD_KEY: (PROD_SECRET, None)}, [wire_order(o) for o in good_orders])
    bad = fakes(FakeOutposts, "bad", LAB_REGION, {LAB_KEY: (LAB_SECRET, None)}, [wire_order(o) for o in bad_orders])
    bad_profile = {"wrong_secret": {"aws_access_key_id": LAB_KEY, "aws_secret_access_key": "notTheSecret0123456789abcdefghijklmnop"},
                   "unknown_key": {"aws_access_key_id": "AKIAUNKNOWN000000009", "aws_secret_access_key": LAB_SECRET},
                   "missing_secret": {"aws_access_key_id": LAB_KEY}}[fault]
    env = write_credentials(tmp_path, {"good": {"aws_access_key_id": PROD_KEY, "aws_secret_access_key": PROD_SECRET},
                                       "broken": bad_profile})
    config = write_accounts_config(
        tmp_path / "c.toml", tmp_path / "s.db",
        [{"name": "good", "region": PROD_REGION, "profile": "good", "endpoint": good.url},
         {"name": "broken", "region": LAB_REGION, "profile": "broken", "endpoint": bad.url}],
        [(o, "good") for o in good_orders] + [(o, "broken") for o in bad_orders], failing_after=2)
    daemon = Daemon(binary, config, tmp_path, env=env)
    try:
        daemon.wait_ready()

        def failing_events():
            return [e for e in history(binary, config) if e["type"] == "watch.failing"]
        wait_for(lambda: {e["order"]["id"] for e in failing_events()} >= set(bad_orders), timeout=40,
                 what="watch.failing for the broken account's orders")
        good.set_order(wire_order(good_orders[0], status="IN_PROGRESS"))
        wait_for(lambda: seen(binary, config, {good_orders[0]: "IN_PROGRESS", good_orders[1]: "PREPARING"}),
                 timeout=30, what="the good account's change")
        events = history(binary, config)
        rows = status(binary, config)
    finally:
        daemon.stop()

    assert_no_secret([daemon.log(), json.dumps(events), json.dumps(rows)])
    failing = [e for e in events if e["type"] == "watch.failing"]
    assert {e["order"]["id"] for e in failing} == set(bad_orders), failing
    for e in failing:
        assert e["order"]["account"] == "broken" and e["order"]["region"] == LAB_REGION
        assert "broken" in e["error"], f"the error does not name the account: {e['error']}"
        assert LAB_SECRET not in e["error"] and "notTheSecret" not in e["error"]
    expected_answer = {"wrong_secret": "InvalidSignatureException", "unknown_key": "UnrecognizedClientException",
                       "missing_secret": None}[fault]
    if expected_answer:
        assert {c["answer"] for c in bad.snapshot()} == {expected_answer}
        assert any(expected_answer in e["error"] or "signature" in e["error"].lower()
                   or "security token" in e["error"].lower() for e in failing), failing
    else:
        # Without a secret nothing can be signed: the endpoint never hears of the account.
        assert bad.snapshot() == []
    # The good account: never failing, every call accepted, its change seen.
    assert_only_own_calls(good, PROD_KEY, PROD_REGION, good_orders)
    assert {c["answer"] for c in good.snapshot()} == {"200"}
    assert not [r for r in rows if r["order_id"] in good_orders and r.get("failing")], rows
    assert [r for r in rows if r["order_id"] in bad_orders and r.get("failing")], rows


# --- 5. configuration errors ----------------------------------------------------------------------

ACCOUNT_A = '[[account]]\nname = "prod"\nregion = "us-west-2"\n'
ACCOUNT_B = '[[account]]\nname = "lab"\nregion = "eu-central-1"\n'
ORDER_A = '[[order]]\nid = "oo-0123456789abcdef0"\naccount = "prod"\n'

# (case, config text, the lines where the error may be reported: the offending table's, a word
# the message must hold)
CONFIG_ERRORS = [
    ("unknown account", ACCOUNT_A + ACCOUNT_B + '[[order]]\nid = "oo-0123456789abcdef0"\naccount = "staging"\n',
     range(7, 10), "staging"),
    ("unknown discover account", ACCOUNT_A + ACCOUNT_B + ORDER_A + '[[discover]]\naccount = "staging"\n',
     range(10, 12), "staging"),
    ("duplicate name", ACCOUNT_A + ACCOUNT_B + '[[account]]\nname = "prod"\nregion = "us-east-1"\n' + ORDER_A,
     range(7, 10), "duplicate"),
    ("default with [aws]", '[aws]\nregion = "us-west-2"\n\n[[account]]\nname = "default"\nregion = "us-east-1"\n'
     '[[order]]\nid = "oo-0123456789abcdef0"\naccount = "default"\n', range(4, 7), "default"),
    ("order without account", ACCOUNT_A + ACCOUNT_B + '[[order]]\nid = "oo-0123456789abcdef0"\n',
     range(7, 9), "account"),
    ("order under two accounts", ACCOUNT_A + ACCOUNT_B + ORDER_A +
     '[[order]]\nid = "oo-0123456789abcdef0"\naccount = "lab"\n', range(10, 13), "oo-0123456789abcdef0"),
    ("external_id without role_arn", '[[account]]\nname = "prod"\nregion = "us-west-2"\nexternal_id = "x-1"\n' + ORDER_A,
     range(1, 5), "role_arn"),
    ("bad name", '[[account]]\nname = "Prod!"\nregion = "us-west-2"\n[[order]]\nid = "oo-0123456789abcdef0"\n',
     range(1, 4), "Prod!"),
]


@pytest.mark.parametrize("case,text,lines,word", CONFIG_ERRORS, ids=[c[0] for c in CONFIG_ERRORS])
def test_check_config_refuses_account_errors(binary, tmp_path, case, text, lines, word):
    config = tmp_path / "c.toml"
    config.write_text(text)
    proc = run_cli(binary, "check-config", config=config)
    assert proc.returncode == 78, f"{case}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    reported = [l for l in proc.stderr.splitlines() if l.startswith(f"{config}:")]
    assert reported, proc.stderr
    for line in reported:
        assert re.match(re.escape(str(config)) + r":\d+:\d+: .+", line), line
        assert "unknown key" not in line, f"{case}: the [[account]] keys are not understood: {line}"
    at = [l for l in reported if int(re.match(re.escape(str(config)) + r":(\d+):", l).group(1)) in lines]
    assert at, f"{case}: expected an error on lines {list(lines)}, got {reported}"
    assert any(word in l for l in at), f"{case}: no error naming {word!r}: {reported}"


def test_check_config_accepts_the_accounts_contract(binary, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[aws]\nregion = "us-west-2"\n\n'
        '[[account]]\nname = "prod"\nregion = "us-west-2"\nprofile = "prod-readonly"\n'
        'role_arn = "arn:aws:iam::111111111111:role/OutpostsRead"\nexternal_id = "x-1"\n'
        'endpoint = "http://127.0.0.1:8714"\nuse_fips = false\nmax_rps = 5\nconcurrency = 4\n\n'
        '[[order]]\nid = "oo-0123456789abcdef0"\naccount = "prod"\n\n'
        '[[order]]\nid = "oo-0fedcba9876543210"\naccount = "default"\n\n'
        '[[discover]]\naccount = "prod"\n')
    proc = run_cli(binary, "check-config", config=config)
    assert proc.returncode == 0, proc.stderr


# --- 6. reload --------------------------------------------------------------------------------------

def test_sighup_adds_and_removes_an_account(binary, fakes, tmp_path):
    prod_orders, lab_orders = order_ids(2, 0xe1), order_ids(2, 0xe2)
    prod = fakes(FakeOutposts, "prod", PROD_REGION, {PROD_KEY: (PROD_SECRET, None)}, [wire_order(o) for o in prod_orders])
    lab = fakes(FakeOutposts, "lab", LAB_REGION, {LAB_KEY: (LAB_SECRET, None)}, [wire_order(o) for o in lab_orders])
    env = write_credentials(tmp_path, {"prod": {"aws_access_key_id": PROD_KEY, "aws_secret_access_key": PROD_SECRET},
                                       "lab": {"aws_access_key_id": LAB_KEY, "aws_secret_access_key": LAB_SECRET}})
    prod_account = {"name": "prod", "region": PROD_REGION, "profile": "prod", "endpoint": prod.url}
    lab_account = {"name": "lab", "region": LAB_REGION, "profile": "lab", "endpoint": lab.url}

    def configure(accounts, orders):
        return write_accounts_config(tmp_path / "c.toml", tmp_path / "s.db", accounts, orders)

    config = configure([prod_account], [(o, "prod") for o in prod_orders])
    daemon = Daemon(binary, config, tmp_path, env=env)
    try:
        daemon.wait_ready()
        wait_for(lambda: seen(binary, config, {o: "PREPARING" for o in prod_orders}), timeout=30, what="prod's first polls")
        assert lab.snapshot() == [], "lab is not configured yet"

        # Add lab: its orders start being polled, at its endpoint with its key.
        configure([prod_account, lab_account], [(o, "prod") for o in prod_orders] + [(o, "lab") for o in lab_orders])
        daemon.reload()
        wait_for(lambda: seen(binary, config, {o: "PREPARING" for o in lab_orders}), timeout=30, what="lab's first polls")
        lab.set_order(wire_order(lab_orders[0], status="IN_PROGRESS"))
        wait_for(lambda: seen(binary, config, {lab_orders[0]: "IN_PROGRESS"}), timeout=30, what="lab's change")

        # Remove prod: its orders stop being polled; their history stays.
        configure([lab_account], [(o, "lab") for o in lab_orders])
        daemon.reload()

        def prod_quiet():
            before = prod.count()
            time.sleep(2.5)   # longer than two intervals: a poller still running would call
            return prod.count() == before
        wait_for(prod_quiet, timeout=30, interval=0, what="prod's polls to stop")
        lab_before = lab.count()
        wait_for(lambda: lab.count() > lab_before + 2, timeout=15, what="lab still polled")
        events = history(binary, config)
    finally:
        daemon.stop()

    assert_only_own_calls(prod, PROD_KEY, PROD_REGION, prod_orders)
    assert_only_own_calls(lab, LAB_KEY, LAB_REGION, lab_orders)
    kept = {e["order"]["id"] for e in events if e["order"]["account"] == "prod"}
    assert kept == set(prod_orders), "history keeps the removed account's orders"
    assert any(e["order"]["id"] == lab_orders[0] and e["type"] == "order.status_changed" and
               e["order"]["account"] == "lab" and e["order"]["region"] == LAB_REGION for e in events)


# --- 7. the single-account config of before ---------------------------------------------------------

def test_single_account_config_is_the_account_default(binary, simulator, receiver, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", webhook_url=receiver.url,
                          journald=False)
    daemon = Daemon(binary, config, tmp_path, env={})
    try:
        daemon.wait_ready()
        wait_for(lambda: seen(binary, config, {ORDER_1: "PREPARING", ORDER_2: "PREPARING"}), timeout=30,
                 what="the first polls")
        simulator.advance()   # ORDER_1 goes IN_PROGRESS
        wait_for(lambda: seen(binary, config, {ORDER_1: "IN_PROGRESS"}), timeout=30, what="the change")
        wait_for(lambda: [e for e in receiver.events() if e["type"] == "order.status_changed"], timeout=30,
                 what="the webhook")
        events = history(binary, config)
    finally:
        daemon.stop()
    assert events
    for e in events + receiver.events():
        assert e["order"]["account"] == "default", e
        assert e["order"]["region"] == "us-west-2", e
    # Signed with the environment's key for [aws]'s region, as before accounts existed.
    signers = simulator.stats().get("signers")
    assert signers is not None, "the simulator counts calls per signer"
    assert set(signers) == {"AKIDTESTEXAMPLE"} and set(signers["AKIDTESTEXAMPLE"]["regions"]) == {"us-west-2"}
