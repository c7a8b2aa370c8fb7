"""Shared fixtures of the end-to-end tests: the real binary, the real simulator (as
`outpostwatch simulate`), a real webhook receiver on loopback that verifies Standard Webhooks
signatures with the `standardwebhooks` library, and a real journald."""
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI") == "true"
ORDER_1 = "oo-0123456789abcdef0"
ORDER_2 = "oo-0fedcba9876543210"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"outpostwatch-test-secret-0123456").decode()
AWS_SECRET = "TESTSECRETdoNotLeak0123456789abcdefghij"


def need(condition, what):
    """Skips a test whose component is missing, but fails it under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing (CI=true: a missing component is a failure)")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def binary():
    # Absolute: some tests run the binary from another working directory.
    path = os.path.abspath(os.environ.get("OUTPOSTWATCH_BIN") or str(ROOT / ".build/release/outpostwatch"))
    need(os.access(path, os.X_OK), f"the outpostwatch binary ({path}; run make build-tests)")
    return path


def run_cli(binary, *args, config=None, env=None, timeout=60, check=None):
    cmd = [binary, *args]
    if config:
        cmd += ["--config", str(config)]
    full_env = dict(os.environ)
    full_env.pop("NOTIFY_SOCKET", None)
    full_env.update({"AWS_ACCESS_KEY_ID": "AKIDTESTEXAMPLE", "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                     "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"})
    full_env.update(env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout)
    record_output(f"outpostwatch {' '.join(map(str, args[:1]))}", proc.stdout + proc.stderr)
    if check is not None:
        assert proc.returncode == check, f"{cmd} exited {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    return proc


def daemon_env(extra=None):
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    env.update({"AWS_ACCESS_KEY_ID": "AKIDTESTEXAMPLE", "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"})
    env.update(extra or {})
    return env


# --- What the suite captured, for the secrets scan (test_zz_secrets.py) -----------------------
# Every run_cli output and every Receiver (its request bodies and headers) is kept here; the
# scan also reads every *.log file and state database under the session's pytest temp dir (where
# the daemons of every test log) and the journal entries written since SESSION_STARTED.
SESSION_STARTED = time.time()
CAPTURED_OUTPUTS = []   # (label, text)
RECEIVERS = []


def record_output(label, text):
    if text:
        CAPTURED_OUTPUTS.append((label, text))


class Simulator:
    """`outpostwatch simulate` on a free loopback port, driven through its admin API."""

    def __init__(self, binary, speed=0, scenario=None):
        args = [binary, "simulate", "--listen", "127.0.0.1:0", "--speed", str(speed)]
        if scenario:
            args += ["--scenario", str(scenario)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert m, f"simulator did not report its port: {line!r} {self.proc.stderr.read() if self.proc.poll() is not None else ''}"
        self.port = int(m.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def admin(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def advance(self, to=None):
        return self.admin("POST", "/_simulator/advance" + (f"?to={to}" if to else ""))

    def stats(self):
        return self.admin("GET", "/_simulator/stats")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def simulator(binary):
    sim = Simulator(binary, speed=0)
    yield sim
    sim.stop()


class Receiver:
    """A webhook receiver on loopback that records every request and verifies its signature with
    the standardwebhooks library (code we did not write). `status` sets what it answers."""

    def __init__(self, secret=WEBHOOK_SECRET, port=0):
        from standardwebhooks.webhooks import Webhook
        self.verifier = Webhook(secret)
        self.requests = []
        self.verified = []
        self.status = 204
        self.headers_to_send = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = True
                try:
                    receiver.verifier.verify(body, headers)
                except Exception:
                    ok = False
                with receiver.lock:
                    receiver.requests.append({"headers": headers, "body": body, "verified": ok})
                    status = receiver.status
                    if ok and 200 <= status < 300:
                        receiver.verified.append(json.loads(body))
                self.send_response(status)
                for k, v in receiver.headers_to_send.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        RECEIVERS.append(self)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self):
        with self.lock:
            return list(self.verified)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    try:
        import standardwebhooks  # noqa: F401
    except ImportError:
        need(False, "the standardwebhooks Python package (pip install standardwebhooks)")
    r = Receiver()
    yield r
    r.stop()


def write_config(path, simulator_url, store, orders=(ORDER_1, ORDER_2), webhook_url=None, extra="",
                 interval="1s", webhook_extra="", journald=None):
    lines = [
        "[aws]", 'region = "us-west-2"', f'endpoint = "{simulator_url}"', "",
        "[poll]", f'interval = "{interval}"', "jitter = 0.0", "concurrency = 4", "max_rps = 200",
        'terminal_interval = "1s"', "failing_after = 2", 'request_timeout = "2s"', "",
        "[storage]", f'path = "{store}"', "",
    ]
    if journald is not None:
        lines += ["[journald]", f"enabled = {'true' if journald else 'false'}", ""]
    for i, order in enumerate(orders):
        lines += ["[[order]]", f'id = "{order}"', f'label = "rack {i + 1}"', ""]
    if webhook_url:
        lines += ["[[webhook]]", 'name = "ops"', f'url = "{webhook_url}"', f'secret = "{WEBHOOK_SECRET}"',
                  'timeout = "2s"', webhook_extra, ""]
    lines.append(extra)
    Path(path).write_text("\n".join(lines))
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="session")
def journald():
    sock = "/run/systemd/journal/socket"
    # The script starts a journald unless one is listening; a socket file left behind by a
    # killed journald does not count (entries sent to it are refused).
    started = subprocess.run([str(ROOT / "scripts/ensure-journald.sh")], check=False)
    need(started.returncode == 0, "a listening journald (/run/systemd/journal/socket)")
    need(shutil.which("journalctl") is not None, "journalctl")
    return sock


def journal_entries(**fields):
    args = ["journalctl", "-o", "json", "--no-pager"] + [f"{k}={v}" for k, v in fields.items()]
    out = subprocess.run(args, capture_output=True, text=True, timeout=20).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def wait_for(predicate, timeout=20.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_outbox_drained(binary, config, timeout=30):
    """Waits until `deliveries --state pending` lists nothing."""
    def drained():
        return not json.loads(run_cli(binary, "deliveries", "--state", "pending", "--json",
                                      config=config, check=0).stdout)
    wait_for(drained, timeout=timeout, what="the outbox to drain")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Figures: what the reliability tests measured, printed as one table at the end ------------
# A test asks for the `figures` fixture and calls `figures("what", value, "unit")`; the session
# prints every figure in a table (`make reliability` shows it) and writes them to
# $RELIABILITY_JSON when that is set, so runs can be compared.
_FIGURES = []


@pytest.fixture
def figures(request):
    def record(what, value, unit=""):
        _FIGURES.append({"test": request.node.name, "what": what, "value": value, "unit": unit})
    return record


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    width = max(len(f["what"]) for f in _FIGURES)
    for f in _FIGURES:
        value = f"{f['value']:.3g}" if isinstance(f["value"], float) else str(f["value"])
        terminalreporter.write_line(f"{f['what']:<{width}}  {value:>10} {f['unit']:<10} ({f['test']})")
    path = os.environ.get("RELIABILITY_JSON")
    if path:
        Path(path).write_text(json.dumps(_FIGURES, indent=2) + "\n")


from pg_support import postgres, postgres_template  # noqa: E402,F401  (fixtures: a real PostgreSQL server)
