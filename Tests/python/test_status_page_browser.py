"""The status page in a real browser: Debian's headless Chromium loads `/` and an order page from
the daemon (no JavaScript runs: there is none), and the tests read the DOM it built and the
picture it drew. Under CI=true a missing chromium fails the test."""
import os
import re
import shutil
import struct
import subprocess
import urllib.parse
import zlib
from pathlib import Path

import pytest

from conftest import need
from test_status_page import (HOSTILE_LABEL, HOSTILE_TRACKING, ITEM, ORDER_A, ORDER_B, ORDER_GONE, Page,
                              StatusDaemon, assert_inert)

# Where the README's screenshots come from: STATUS_PAGE_SCREENSHOTS=docs/images keeps them.
KEEP = os.environ.get("STATUS_PAGE_SCREENSHOTS")


@pytest.fixture
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    need(path is not None, "Debian's chromium (make deps installs it)")
    return path


@pytest.fixture
def daemon(binary, receiver, tmp_path):
    d = StatusDaemon(binary, tmp_path, webhook_url=receiver.url)
    yield d
    d.stop()


def browse(chromium, tmp_path, url, *args):
    """Runs headless Chromium on `url`; returns (stdout, console and security messages)."""
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           "--disable-background-networking", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900", *args, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    complaints = [line for line in proc.stderr.splitlines()
                  if "CONSOLE" in line or "Refused to" in line or "Content Security Policy" in line]
    return proc.stdout, complaints


def png_pixels(path):
    """(width, height, set of distinct pixels) of an 8-bit RGB or RGBA PNG, with the stdlib only."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6), header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    pixels = set()
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:
            pixels.update(bytes(line[x:x + 3]) for x in range(0, stride, bpp * 2))
        previous = line
    return width, height, pixels


def screenshot(chromium, tmp_path, url, name):
    out = tmp_path / name
    _, complaints = browse(chromium, tmp_path, url, f"--screenshot={out}")
    assert out.exists(), "chromium wrote no screenshot"
    width, height, pixels = png_pixels(out)
    assert (width, height) == (1280, 900)
    # A blank or failed page is one or two colours; the page has badges, text, a timeline.
    assert len(pixels) > 50, f"{name}: only {len(pixels)} distinct colours"
    if KEEP:
        Path(KEEP).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(KEEP) / name)
    return complaints


def test_browser_renders_every_order_with_its_status(chromium, daemon, tmp_path):
    dom, complaints = browse(chromium, tmp_path, daemon.base + "/", "--dump-dom")
    assert not complaints, complaints
    page = Page(dom)
    assert_inert(page)
    rows = re.findall(r'<tr class="order[^"]*" id="row-(oo-[0-9a-f]+)"', dom)
    assert sorted(rows) == sorted([ORDER_A, ORDER_B, ORDER_GONE])
    text = page.all_text()
    for status in ["IN_PROGRESS", "CANCELLED", "NOT_FOUND"]:
        assert status in text
    assert HOSTILE_LABEL in text
    assert not screenshot(chromium, tmp_path, daemon.base + "/", "status-page.png")


def test_browser_draws_the_timeline_and_links_tracking(chromium, daemon, tmp_path):
    url = daemon.base + f"/orders/{ORDER_A}"
    dom, complaints = browse(chromium, tmp_path, url, "--dump-dom")
    assert not complaints, complaints
    page = Page(dom)
    assert_inert(page)
    assert page.find("svg"), "no inline SVG"
    drawn = [a["data-status"] for a in page.find("g", **{"class": "segment"})]
    history = daemon.get_json(f"/api/orders/{ORDER_A}")
    seen = {p["status"] for p in history["timeline"]["phases"]}
    seen |= {p["status"] for li in history["timeline"]["line_items"] for p in li["phases"]}
    assert seen == {"PREPARING", "IN_PROGRESS", "BUILDING", "SHIPPED"}
    assert seen <= set(drawn), drawn
    assert len(drawn) == len(history["timeline"]["phases"]) + sum(len(li["phases"]) for li in history["timeline"]["line_items"])
    assert [a["href"] for a in page.find("a", **{"class": "tracking"})] == [
        "https://www.ups.com/track?loc=en_US&tracknum=" + urllib.parse.quote(HOSTILE_TRACKING, safe="-._~")]
    text = page.all_text()
    assert HOSTILE_TRACKING in text and ITEM in text and "0a:1b:2c:3d:4e:5f" in text
    assert "delivered" in text   # the webhook's delivery state, per event
    assert not screenshot(chromium, tmp_path, url, "order-page.png")


def test_the_console_check_sees_a_csp_violation(chromium, tmp_path):
    """The check the page tests rely on is not blind: a page whose script and style break its
    own CSP yields complaints."""
    page = tmp_path / "violating.html"
    page.write_text('<html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'"></head>'
                    '<body><script>console.log(1)</script><p style="color:red">x</p></body></html>')
    _, complaints = browse(chromium, tmp_path, page.as_uri(), "--dump-dom")
    assert any("Content Security Policy" in c for c in complaints), complaints
