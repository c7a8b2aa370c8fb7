#!/usr/bin/env python3
"""`make bench`: outpostwatch against a plain boto3 + sqlite3 poller, in the same run, on the
same simulator. Prints a table and writes bench/results.json.

Measured per tool, with N watched orders (two line items each): CPU seconds (user+sys, from
wait4) per 1000 polls and peak RSS, for (a) a poll of every order with no change and (b) one
with 10 % of the orders changed. Also outpostwatch's time from start to READY=1."""
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = os.environ.get("OUTPOSTWATCH_BIN", str(ROOT / ".build/release/outpostwatch"))
N = int(os.environ.get("BENCH_ORDERS", "10000"))


def order_id(i):
    return "oo-%017x" % (i + 1)


def scenario(n):
    orders = []
    for i in range(n):
        orders.append({"OrderId": order_id(i), "OutpostId": "op-0123456789abcdef0", "Status": "IN_PROGRESS",
                       "OrderType": "OUTPOST", "PaymentOption": "ALL_UPFRONT", "PaymentTerm": "THREE_YEARS",
                       "OrderSubmissionDate": 1764300000,
                       "LineItems": [{"CatalogItemId": "WH4B5V4", "LineItemId": "ooi-%017x" % (2 * i + 1),
                                      "Quantity": 1, "Status": "BUILDING"},
                                     {"CatalogItemId": "WH4B5V4", "LineItemId": "ooi-%017x" % (2 * i + 2),
                                      "Quantity": 1, "Status": "BUILDING"}]})
    return {"orders": orders, "timeline": []}


def run_measured(cmd, env=None):
    """Runs a command to completion; returns (cpu seconds, peak RSS MiB, wall seconds, stdout)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0,):
        sys.stderr.write(err.decode()[-2000:])
        raise SystemExit(f"{cmd[0]} exited {code}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, wall, out


def admin(url, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def main():
    tmp = Path(tempfile.mkdtemp(prefix="outpostwatch-bench-"))
    scen = tmp / "scenario.json"
    data = scenario(N)
    scen.write_text(json.dumps(data))
    sim = subprocess.Popen([BIN, "simulate", "--listen", "127.0.0.1:0", "--speed", "0", "--scenario", str(scen)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = "http://127.0.0.1:%s" % re.search(r":(\d+)", sim.stdout.readline().split("http://")[1]).group(1)
    results = {"orders": N, "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    try:
        ids = [order_id(i) for i in range(N)]
        (tmp / "orders.txt").write_text("\n".join(ids))
        config = tmp / "config.toml"
        lines = ["[aws]", 'region = "us-west-2"', f'endpoint = "{url}"', "[poll]", 'interval = "5m"',
                 "concurrency = 16", "max_rps = 100000", "[storage]", f'path = "{tmp}/ow.db"',
                 "[journald]", "enabled = false"]
        for i in ids:
            lines += ["[[order]]", f'id = "{i}"']
        config.write_text("\n".join(lines) + "\n")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDBENCH", AWS_SECRET_ACCESS_KEY="bench",
                   AWS_EC2_METADATA_DISABLED="true")
        ow_cmd = [BIN, "once", "--config", str(config)]
        py_cmd = [sys.executable, str(ROOT / "bench/boto3_poller.py"), "--endpoint", url, "--db", str(tmp / "py.db"),
                  "--orders", str(tmp / "orders.txt")]

        rows = {}
        for name, cmd in (("outpostwatch", ow_cmd), ("boto3", py_cmd)):
            run_measured(cmd, env)                          # baseline: first_seen for all
            cpu, rss, wall, _ = run_measured(cmd, env)      # nothing changed
            rows[name] = {"unchanged_cpu_per_1000": cpu / N * 1000, "unchanged_rss_mib": rss,
                          "unchanged_wall_s": wall}
        # 10 % of orders change; both tools see the same change.
        for i in range(0, N, 10):
            o = data["orders"][i]
            o["Status"] = "DELIVERED"
            o["LineItems"][0]["Status"] = "SHIPPED"
            o["LineItems"][0]["ShipmentInformation"] = {"ShipmentCarrier": "UPS", "ShipmentTrackingNumber": f"1Z{i:016d}"}
            admin(url, "PUT", f"/_simulator/orders/{o['OrderId']}", o)
        for name, cmd in (("outpostwatch", ow_cmd), ("boto3", py_cmd)):
            cpu, rss, wall, _ = run_measured(cmd, env)
            rows[name].update({"changed_cpu_per_1000": cpu / N * 1000, "changed_rss_mib": rss, "changed_wall_s": wall})
        results["tools"] = rows
        ow, py = rows["outpostwatch"], rows["boto3"]
        results["ratios"] = {
            "cpu_unchanged": ow["unchanged_cpu_per_1000"] / py["unchanged_cpu_per_1000"],
            "cpu_changed": ow["changed_cpu_per_1000"] / py["changed_cpu_per_1000"],
            "rss_unchanged": ow["unchanged_rss_mib"] / py["unchanged_rss_mib"],
        }

        # Start to READY=1 and to the first GetOrder the simulator sees (median of 10), with the
        # notify socket bound here.
        ready = []
        first_poll = []
        for _ in range(10):
            sock_path = str(tmp / "notify.sock")
            if os.path.exists(sock_path):
                os.unlink(sock_path)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(sock_path)
            s.settimeout(10)
            calls_before = json.loads(admin(url, "GET", "/_simulator/stats"))["calls"]
            t0 = time.monotonic()
            p = subprocess.Popen([BIN, "run", "--config", str(config)], env=dict(env, NOTIFY_SOCKET=sock_path),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while True:
                msg = s.recv(4096).decode()
                if "READY=1" in msg:
                    ready.append((time.monotonic() - t0) * 1000)
                    break
            while json.loads(admin(url, "GET", "/_simulator/stats"))["calls"] == calls_before:
                time.sleep(0.001)
            first_poll.append((time.monotonic() - t0) * 1000)
            p.terminate()
            p.wait()
            s.close()
        results["start_to_ready_ms_median"] = statistics.median(ready)
        results["start_to_first_poll_ms_median"] = statistics.median(first_poll)
    finally:
        sim.terminate()
        sim.wait()

    print(f"outpostwatch vs boto3 poller, {N} orders ({results['machine']}):")
    print(f"{'':24}{'outpostwatch':>14}{'boto3':>12}{'ratio':>9}")
    print(f"{'CPU s/1000 polls, same':24}{ow['unchanged_cpu_per_1000']:14.3f}{py['unchanged_cpu_per_1000']:12.3f}{results['ratios']['cpu_unchanged']:9.3f}")
    print(f"{'CPU s/1000 polls, 10%':24}{ow['changed_cpu_per_1000']:14.3f}{py['changed_cpu_per_1000']:12.3f}{results['ratios']['cpu_changed']:9.3f}")
    print(f"{'peak RSS MiB':24}{ow['unchanged_rss_mib']:14.1f}{py['unchanged_rss_mib']:12.1f}{results['ratios']['rss_unchanged']:9.3f}")
    print(f"{'wall s, same':24}{ow['unchanged_wall_s']:14.2f}{py['unchanged_wall_s']:12.2f}")
    print(f"start to READY=1: {results['start_to_ready_ms_median']:.1f} ms, to the first GetOrder: "
          f"{results['start_to_first_poll_ms_median']:.1f} ms (medians of 10, {N} orders)")
    out = ROOT / "bench/results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
