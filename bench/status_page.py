#!/usr/bin/env python3
"""`make bench`, status page part: does serving the page slow the poll loop down?

The daemon watches N orders (BENCH_STATUS_ORDERS, default 1000) on the simulator, polling as
fast as a 1 s interval asks (every order every second). Measured over two windows of
BENCH_STATUS_WINDOW_S seconds (default 15), after a warm-up: GetOrder calls per second the
simulator answered with nobody reading the page, then the same while a client fetches `/` in a
loop (one request at a time), with the page's latency as that client sees it (store read,
render, HTTP). Prints the figures and writes bench/status_page.json."""
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = os.environ.get("OUTPOSTWATCH_BIN", str(ROOT / ".build/release/outpostwatch"))
N = int(os.environ.get("BENCH_STATUS_ORDERS", "1000"))
WINDOW = float(os.environ.get("BENCH_STATUS_WINDOW_S", "15"))


def order_id(i):
    return "oo-%017x" % (i + 1)


def scenario(n):
    """N orders in progress with two line items each; nothing changes (steady polling)."""
    return {"orders": [{"OrderId": order_id(i), "OutpostId": "op-0123456789abcdef0", "Status": "IN_PROGRESS",
                        "OrderSubmissionDate": 1764300000,
                        "LineItems": [{"LineItemId": "ooi-%017x" % (2 * i + k), "CatalogItemId": "WH4B5V4",
                                       "Quantity": 1, "Status": "BUILDING"} for k in (1, 2)]} for i in range(n)],
            "timeline": []}


def admin(url, method, path):
    with urllib.request.urlopen(urllib.request.Request(url + path, method=method), timeout=10) as r:
        return r.read()


def cpu_seconds(pid):
    """User + system CPU seconds of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def calls(url):
    return json.loads(admin(url, "GET", "/_simulator/stats"))["calls"]


def main():
    tmp = Path(tempfile.mkdtemp(prefix="outpostwatch-bench-status-"))
    (tmp / "scenario.json").write_text(json.dumps(scenario(N)))
    sim = subprocess.Popen([BIN, "simulate", "--listen", "127.0.0.1:0", "--speed", "0", "--scenario",
                            str(tmp / "scenario.json")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = "http://127.0.0.1:%s" % re.search(r":(\d+)", sim.stdout.readline().split("http://")[1]).group(1)
    port = free_port()
    lines = ["[aws]", 'region = "us-west-2"', f'endpoint = "{url}"', "[poll]", 'interval = "1s"', "jitter = 0.0",
             "concurrency = 16", "max_rps = 100000", "[storage]", f'path = "{tmp}/ow.db"', "[journald]",
             "enabled = false", "[http]", f'listen = "127.0.0.1:{port}"']
    for i in range(N):
        lines += ["[[order]]", f'id = "{order_id(i)}"', f'label = "rack {i} <Seattle & co>"']
    (tmp / "config.toml").write_text("\n".join(lines) + "\n")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDBENCH", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")
    env.pop("NOTIFY_SOCKET", None)
    daemon = subprocess.Popen([BIN, "run", "--config", str(tmp / "config.toml")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    page = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(page, timeout=10) as r:
                    if r.read().count(b'<tr class="order') >= N:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the page never listed every order")
            time.sleep(0.5)
        time.sleep(5)   # warm-up: steady polling

        def window(reading):
            latencies = []
            stop = threading.Event()

            def client():
                while not stop.is_set():
                    t0 = time.monotonic()
                    with urllib.request.urlopen(page, timeout=30) as r:
                        r.read()
                    latencies.append((time.monotonic() - t0) * 1000)

            thread = threading.Thread(target=client) if reading else None
            c0, cpu0 = calls(url), cpu_seconds(daemon.pid)
            if thread:
                thread.start()
            time.sleep(WINDOW)
            c1, cpu1 = calls(url), cpu_seconds(daemon.pid)
            stop.set()
            if thread:
                thread.join()
            return (c1 - c0) / WINDOW, (cpu1 - cpu0) / WINDOW * 100, latencies

        quiet_rate, quiet_cpu, _ = window(False)
        busy_rate, busy_cpu, latencies = window(True)
        latencies.sort()
        results = {
            "orders": N, "window_s": WINDOW, "date": time.strftime("%Y-%m-%d"),
            "polls_per_s_without_page_reads": round(quiet_rate, 1),
            "polls_per_s_while_fetching_index_in_a_loop": round(busy_rate, 1),
            "daemon_cpu_percent_without": round(quiet_cpu, 1),
            "daemon_cpu_percent_with": round(busy_cpu, 1),
            "index_fetches": len(latencies),
            "index_latency_ms_median": round(statistics.median(latencies), 1),
            "index_latency_ms_p95": round(latencies[int(len(latencies) * 0.95)], 1),
        }
        print(json.dumps(results, indent=2))
        (ROOT / "bench/status_page.json").write_text(json.dumps(results, indent=2) + "\n")
    finally:
        daemon.terminate()
        daemon.wait()
        sim.terminate()
        sim.wait()


if __name__ == "__main__":
    main()
