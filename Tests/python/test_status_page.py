"""The status page (docs/status-page.md) from outside: the daemon runs against the simulator and
serves `/`, `/orders/ID` and the JSON API on loopback; the tests read them over HTTP and through a
real headless Chromium (Debian's `chromium`), with hostile labels and tracking numbers."""
import json
import os
import re
import shutil
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import (IN_CI, ROOT, Simulator, daemon_env, free_port, need, run_cli, wait_for, write_config)

ORDER_A = "oo-0123456789abcdef0"   # moves: PREPARING -> IN_PROGRESS, its line item ships
ORDER_B = "oo-0fedcba9876543210"   # CANCELLED
ORDER_GONE = "oo-00000000000000003"   # unknown to the simulator: not found
ITEM = "ooi-0a1b2c3d4e5f60701"
HOSTILE_LABEL = "<script>alert(1)</script><img src=x onerror=alert(2)>"
HOSTILE_TRACKING = '1Z<marquee id="x">999</marquee>"&\''
TOKEN = "status-page-token-0123456789"


def scenario(path, submitted):
    path.write_text(json.dumps({
        "orders": [
            {"OrderId": ORDER_A, "OutpostId": "op-0123456789abcdef0", "Status": "PREPARING",
             "OrderSubmissionDate": submitted,
             "LineItems": [{"LineItemId": ITEM, "CatalogItemId": "OR-8CVV0EV", "Quantity": 1,
                            "Status": "BUILDING"}]},
            {"OrderId": ORDER_B, "OutpostId": "op-0123456789abcdef0", "Status": "PREPARING", "LineItems": []},
        ],
        "timeline": [
            {"at": 1, "order": ORDER_A, "status": "IN_PROGRESS"},
            {"at": 1, "order": ORDER_B, "status": "CANCELLED"},
            {"at": 2, "order": ORDER_A, "lineItem": ITEM, "status": "SHIPPED",
             "shipment": {"ShipmentCarrier": "UPS", "ShipmentTrackingNumber": HOSTILE_TRACKING}},
            {"at": 3, "order": ORDER_A, "lineItem": ITEM,
             "assets": [{"AssetId": "7e2f9c81ab", "MacAddressList": ["0a:1b:2c:3d:4e:5f"]}]},
        ],
    }))
    return path


def toml_string(s):
    return json.dumps(s)   # a JSON string is a valid TOML basic string


class StatusDaemon:
    """`outpostwatch run` with `[http]` on a free loopback port, after the scenario played."""

    def __init__(self, binary, tmp_path, token=None, webhook_url=None):
        # Submitted shortly before, and the steps seconds apart: every stay is wide enough to see.
        self.submitted = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 20))
        self.sim = Simulator(binary, speed=0, scenario=scenario(tmp_path / "scenario.json", self.submitted))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = token
        http = f'[http]\nlisten = "127.0.0.1:{self.port}"\n'
        if token:
            (tmp_path / "token").write_text(token + "\n")
            http += f'token_file = "{tmp_path / "token"}"\n'
        orders = "".join(f'[[order]]\nid = "{o}"\nlabel = {toml_string(label)}\n\n'
                         for o, label in [(ORDER_A, HOSTILE_LABEL), (ORDER_B, "rack & \"two\""), (ORDER_GONE, "gone")])
        self.config = write_config(tmp_path / "c.toml", self.sim.url, tmp_path / "s.db", orders=(), journald=False,
                                   webhook_url=webhook_url, interval="500ms", extra=http + orders)
        self.log = open(tmp_path / "daemon.log", "ab")
        self.proc = subprocess.Popen([binary, "run", "--config", str(self.config)], env=daemon_env(),
                                     stdout=self.log, stderr=self.log)
        wait_for(lambda: self._up(), what="the status page to answer")
        wait_for(lambda: self.api_row(ORDER_A, "status") == "PREPARING", what="the first poll")
        for step in (1, 2, 3):
            time.sleep(1.5)
            self.sim.advance(to=step)
        wait_for(lambda: self.api_row(ORDER_A, "line_items_by_status") == {"SHIPPED": 1}
                 and self.api_row(ORDER_B, "status") == "CANCELLED"
                 and self.api_row(ORDER_GONE, "not_found"), what="the scenario to be seen")
        wait_for(lambda: any(e["type"] == "line_item.assets_changed" for e in self.get_json(f"/api/orders/{ORDER_A}")["events"]),
                 what="the assets")

    def _up(self):
        try:
            self.get("/healthz")
            return True
        except (urllib.error.URLError, ConnectionError):
            return False

    def request(self, path, method="GET", token="default", headers=None):
        headers = dict(headers or {})
        token = self.token if token == "default" else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get(self, path, **kw):
        status, headers, body = self.request(path, **kw)
        assert status == 200, (path, status, body[:300])
        return body.decode()

    def get_json(self, path):
        return json.loads(self.get(path))

    def api_row(self, order, key):
        for row in self.get_json("/api/orders"):
            if row["order_id"] == order:
                return row[key]
        return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.sim.stop()
        self.log.close()


@pytest.fixture
def open_daemon(binary, receiver, tmp_path):
    d = StatusDaemon(binary, tmp_path, webhook_url=receiver.url)
    yield d
    d.stop()


@pytest.fixture
def token_daemon(binary, tmp_path):
    d = StatusDaemon(binary, tmp_path, token=TOKEN)
    yield d
    d.stop()


# --- HTML parsing ---------------------------------------------------------------------------

class Page(HTMLParser):
    """Every element (tag, attributes) and the text of a document."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.text = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all_text(self):
        return "".join(self.text)

    def find(self, tag, **attrs):
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def assert_inert(page):
    """No element or attribute came from data: no script, no img, no event handler, no id="x"."""
    tags = {t for t, _ in page.elements}
    assert not tags & {"script", "img", "marquee"}, tags
    for tag, attrs in page.elements:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert attrs.get("id") != "x", (tag, attrs)


# --- HTTP level -----------------------------------------------------------------------------

def test_token_guards_every_path_but_healthz(token_daemon):
    d = token_daemon
    for path in ["/", f"/orders/{ORDER_A}", "/api/orders", f"/api/orders/{ORDER_A}", "/metrics", "/nope"]:
        status, headers, _ = d.request(path, token=None)
        assert status == 401, path
        assert headers.get("WWW-Authenticate", "").startswith("Bearer"), headers
        status, _, _ = d.request(path, token=TOKEN + "x")
        assert status == 401, path
        status, _, _ = d.request(path, token=None, headers={"Authorization": f"Basic {TOKEN}"})
        assert status == 401, path
    assert d.request("/healthz", token=None)[0] == 200
    assert d.request("/", token=TOKEN)[0] == 200
    assert d.request("/metrics", token=TOKEN)[0] == 200
    # The token never appears in the daemon's output.
    d.log.flush()
    assert TOKEN not in (Path(d.config).parent / "daemon.log").read_text()


def test_headers_methods_and_not_found(token_daemon):
    d = token_daemon
    for path in ["/", f"/orders/{ORDER_A}", "/api/orders", f"/api/orders/{ORDER_A}"]:
        status, headers, body = d.request(path)
        assert status == 200, path
        assert headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        want = "application/json" if path.startswith("/api") else "text/html"
        assert headers["Content-Type"].startswith(want), headers
    status, headers, body = d.request("/", method="HEAD")
    assert status == 200 and body == b""
    for method in ["POST", "PUT", "DELETE", "PATCH"]:
        status, headers, _ = d.request("/", method=method)
        assert status == 405, method
        assert headers.get("Allow") == "GET, HEAD"
        assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = d.request("/orders/oo-0000000000000000f")
    assert status == 404 and headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "oo-0000000000000000f" in Page(body.decode()).all_text()
    status, _, body = d.request("/api/orders/oo-0000000000000000f")
    assert status == 404 and "error" in json.loads(body)
    status, _, body = d.request("/orders/<script>")
    assert status == 404 and b"<script>" not in body


def test_api_orders_is_status_json_and_detail_has_history_and_timeline(open_daemon, binary):
    d = open_daemon
    # Polls keep moving last_poll_at: the CLI's answer must equal the API's just before or after.
    for _ in range(10):
        before = d.get_json("/api/orders")
        cli = json.loads(run_cli(binary, "status", "--json", config=d.config, check=0).stdout)
        after = d.get_json("/api/orders")
        if cli in (before, after):
            break
    else:
        pytest.fail(f"/api/orders never equalled status --json:\n{before}\n{cli}")
    assert {r["order_id"] for r in cli} == {ORDER_A, ORDER_B, ORDER_GONE}

    detail = d.get_json(f"/api/orders/{ORDER_A}")
    assert set(detail) == {"order", "line_items", "events", "timeline", "deliveries"}
    assert detail["order"]["order_id"] == ORDER_A and detail["order"]["label"] == HOSTILE_LABEL
    history = json.loads(run_cli(binary, "history", ORDER_A, "--json", config=d.config, check=0).stdout)
    assert detail["events"] == history
    timeline = detail["timeline"]
    assert timeline["order_id"] == ORDER_A
    assert [p["status"] for p in timeline["phases"]] == ["PREPARING", "IN_PROGRESS"]
    assert timeline["phases"][0]["from"] == d.submitted   # PREPARING since submission
    assert timeline["phases"][-1]["to"] is None
    assert all(isinstance(p["duration_seconds"], int) and p["duration_seconds"] >= 0 for p in timeline["phases"])
    assert [li["id"] for li in timeline["line_items"]] == [ITEM]
    assert [p["status"] for p in timeline["line_items"][0]["phases"]] == ["BUILDING", "SHIPPED"]
    item = detail["line_items"][0]
    assert item["shipment"] == {"carrier": "UPS", "tracking_number": HOSTILE_TRACKING}
    assert item["assets"] == [{"asset_id": "7e2f9c81ab", "mac_addresses": ["0a:1b:2c:3d:4e:5f"]}]
    wait_for(lambda: any(x["state"] == "delivered" for x in d.get_json(f"/api/orders/{ORDER_A}")["deliveries"]),
             what="a delivered webhook")
    assert {x["sink"] for x in d.get_json(f"/api/orders/{ORDER_A}")["deliveries"]} == {"ops"}


def test_html_escapes_labels_statuses_and_tracking_numbers(open_daemon):
    d = open_daemon
    index = Page(d.get("/"))
    assert_inert(index)
    assert HOSTILE_LABEL in index.all_text() and 'rack & "two"' in index.all_text()
    links = [a["href"] for a in index.find("a") if a.get("href", "").startswith("/orders/")]
    assert sorted(links) == sorted(f"/orders/{o}" for o in (ORDER_A, ORDER_B, ORDER_GONE))
    order = Page(d.get(f"/orders/{ORDER_A}"))
    assert_inert(order)
    assert HOSTILE_TRACKING in order.all_text()
    tracking = order.find("a", **{"class": "tracking"})
    assert [a["href"] for a in tracking] == [
        "https://www.ups.com/track?loc=en_US&tracknum=" + urllib.parse.quote(HOSTILE_TRACKING, safe="-._~")]


def test_index_puts_attention_first_with_markers(open_daemon):
    page = open_daemon.get("/")
    rows = re.findall(r'id="row-(oo-[0-9a-f]+)"', page)
    assert rows[0] == ORDER_GONE, rows          # not found first
    assert rows[-1] == ORDER_B, rows            # cancelled (finished) last
    assert "not found" in Page(page).all_text()
    assert re.search(r'<time title="\d{4}-\d\d-\d\dT[^"]+">(just now|\d+ seconds? ago)</time>', page)


def test_check_config_warns_about_a_reachable_listen_without_token(binary, tmp_path):
    cfg = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", tmp_path / "s.db",
                       extra='[http]\nlisten = "0.0.0.0:9464"\n')
    out = run_cli(binary, "check-config", config=cfg, env={"CREDENTIALS_DIRECTORY": ""})
    assert out.returncode == 0, out.stderr
    assert "no token protects the status page" in out.stdout + out.stderr
    (tmp_path / "t").write_text("x\n")
    cfg = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", tmp_path / "s.db",
                       extra=f'[http]\nlisten = "0.0.0.0:9464"\ntoken_file = "{tmp_path / "t"}"\n')
    out = run_cli(binary, "check-config", config=cfg, env={"CREDENTIALS_DIRECTORY": ""})
    assert out.returncode == 0 and "no token protects" not in out.stdout + out.stderr
    cfg = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", tmp_path / "s.db",
                       extra='[http]\nlisten = "127.0.0.1:9464"\n')
    out = run_cli(binary, "check-config", config=cfg, env={"CREDENTIALS_DIRECTORY": ""})
    assert "no token protects" not in out.stdout + out.stderr


def test_systemd_credential_http_token(binary, tmp_path):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "http-token").write_text(TOKEN + "\n")
    sim = Simulator(binary, speed=0)
    port = free_port()
    cfg = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", journald=False,
                       extra=f'[http]\nlisten = "127.0.0.1:{port}"\n')
    log = open(tmp_path / "daemon.log", "ab")
    proc = subprocess.Popen([binary, "run", "--config", str(cfg)], env=daemon_env({"CREDENTIALS_DIRECTORY": str(creds)}),
                            stdout=log, stderr=log)
    try:
        def status(token):
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/orders",
                                         headers={"Authorization": f"Bearer {token}"} if token else {})
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code
            except (urllib.error.URLError, ConnectionError):
                return None
        wait_for(lambda: status(None) is not None, what="the server")
        assert status(None) == 401
        assert status(TOKEN) == 200
    finally:
        proc.terminate()
        proc.wait(10)
        sim.stop()
        log.close()


def test_an_empty_or_missing_token_file_stops_the_daemon_with_78(binary, tmp_path):
    (tmp_path / "empty").write_text("\n")
    for token_file in [tmp_path / "empty", tmp_path / "missing"]:
        cfg = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", tmp_path / "s.db", journald=False,
                           extra=f'[http]\nlisten = "127.0.0.1:{free_port()}"\ntoken_file = "{token_file}"\n')
        proc = subprocess.run([binary, "run", "--config", str(cfg)], env=daemon_env(), capture_output=True,
                              text=True, timeout=30)
        assert proc.returncode == 78, (token_file, proc.stderr)
        assert str(token_file) in proc.stderr
