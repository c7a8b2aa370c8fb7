#!/usr/bin/env python3
"""`make bench`: outpostwatch against a plain boto3 + sqlite3 poller, in the same run, on the
same simulator. Prints a table and writes bench/results.json.

Measured per tool, with N watched orders (two line items each): CPU seconds (user+sys, from
wait4) per 1000 polls and peak RSS, for (a) a poll of every order with no change and (b) one
with 10 % of the orders changed. Also outpostwatch's time from start to READY=1 and to the first
poll; the daemon's CPU while it polls every order for the first time, while idle (with its
wake-ups), and while polling steadily; and the webhook delivery figures. BENCH_ORDERS sets N
(default 10 000), BENCH_WINDOW_S the idle windows (default 60 s)."""
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


def cpu_seconds(pid):
    """user+sys CPU of a running process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    """Voluntary + involuntary context switches of each thread, by thread id: how often it woke up."""
    counts = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total = 0
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
            counts[task.name] = total
        except FileNotFoundError:
            pass
    return counts


def switches_between(before, after):
    """Context switches between two samples: threads in both count their difference, threads
    started in between all of theirs (threads that ended in between are not counted)."""
    return sum(count - before.get(tid, 0) for tid, count in after.items())


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def notify_socket(sock_path, timeout):
    """A NOTIFY_SOCKET bound here, as systemd binds it."""
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(timeout)
    return s


def start_run(config, env, tmp):
    """`outpostwatch run`, returned once it sent READY=1."""
    sock_path = str(tmp / "notify-run.sock")
    s = notify_socket(sock_path, 120)
    p = subprocess.Popen([BIN, "run", "--config", str(config)], env=dict(env, NOTIFY_SOCKET=sock_path),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while "READY=1" not in s.recv(4096).decode():
        pass
    s.close()
    return p


def measure_run(url, config, env, tmp):
    """The daemon itself: (a) the first 60 s of `run` with N orders on a 5-minute interval (every
    order gets its first poll in that minute: the startup spread), (b) the next 60 s, when nothing is
    due (CPU and wake-ups while idle), (c) steady polling on a 20 s interval, where most answers
    repeat the previous one (CPU per 1000 polls, from the simulator's call count)."""
    figures = {}
    window = float(os.environ.get("BENCH_WINDOW_S", "60"))
    p = start_run(config, env, tmp)
    try:
        c0 = cpu_seconds(p.pid)
        time.sleep(window)
        c1, w1 = cpu_seconds(p.pid), context_switches(p.pid)
        time.sleep(window)
        c2, w2 = cpu_seconds(p.pid), context_switches(p.pid)
        figures["first_minute_cpu_percent"] = (c1 - c0) / window * 100
        figures["idle_minute_cpu_percent"] = (c2 - c1) / window * 100
        figures["idle_wakeups_per_s"] = switches_between(w1, w2) / window
        figures["rss_mib_after_idle"] = rss_mib(p.pid)
    finally:
        p.terminate()
        p.wait()

    fast = tmp / "config-20s.toml"
    fast.write_text(Path(config).read_text().replace('interval = "5m"', 'interval = "20s"'))
    p = start_run(fast, env, tmp)
    try:
        time.sleep(25)                      # the startup spread (20 s) is over: every order polled once
        calls0 = json.loads(admin(url, "GET", "/_simulator/stats"))["calls"]
        c0 = cpu_seconds(p.pid)
        time.sleep(30)
        calls1 = json.loads(admin(url, "GET", "/_simulator/stats"))["calls"]
        c1 = cpu_seconds(p.pid)
        polls = calls1 - calls0
        figures["steady_polls_per_s"] = polls / 30
        figures["steady_cpu_per_1000_polls"] = (c1 - c0) / max(polls, 1) * 1000
        figures["steady_rss_mib"] = rss_mib(p.pid)
    finally:
        p.terminate()
        p.wait()
    return figures


def measure_delivery():
    """Webhook delivery figures from the Swift measurement tests (outbox -> signed webhook to a
    loopback receiver, with synchronous=FULL as in production)."""
    proc = subprocess.run(["swift", "test", "-c", "release", "--skip-build", "--filter", "SinksTests.MeasurementTests"],
                          cwd=ROOT, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    figures = {}
    m = re.search(r"\[synchronous=FULL\] webhook throughput: \d+ events in [\d.]+ s = (\d+) events/s", out)
    if m:
        figures["events_per_s"] = int(m.group(1))
    m = re.search(r"\[synchronous=FULL\] commit-to-webhook latency over \d+ events: median ([\d.]+) ms, p99 ([\d.]+) ms", out)
    if m:
        figures["commit_to_webhook_median_ms"] = float(m.group(1))
        figures["commit_to_webhook_p99_ms"] = float(m.group(2))
    if not figures:
        sys.stderr.write(out[-3000:])
        raise SystemExit("the delivery measurements did not run")
    return figures


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
            s = notify_socket(sock_path, 10)
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

        results["run"] = measure_run(url, config, env, tmp)
        results["delivery"] = measure_delivery()
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
    r, d = results["run"], results["delivery"]
    print(f"run, first minute ({N} orders, 5m interval, all first polls): {r['first_minute_cpu_percent']:.1f} % of one core")
    print(f"run, idle minute (nothing due): {r['idle_minute_cpu_percent']:.2f} % of one core, "
          f"{r['idle_wakeups_per_s']:.1f} wake-ups/s, RSS {r['rss_mib_after_idle']:.1f} MiB")
    print(f"run, steady polling (20s interval): {r['steady_polls_per_s']:.0f} polls/s, "
          f"{r['steady_cpu_per_1000_polls']:.3f} CPU s/1000 polls, RSS {r['steady_rss_mib']:.1f} MiB")
    print(f"webhooks: {d['events_per_s']} events/s; commit to webhook median {d['commit_to_webhook_median_ms']:.2f} ms, "
          f"p99 {d['commit_to_webhook_p99_ms']:.2f} ms")
    out = ROOT / "bench/results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
