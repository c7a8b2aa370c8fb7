#!/usr/bin/env python3
"""`make bench`: outpostwatch against a plain boto3 + sqlite3 poller (bench/boto3_poller.py), in
the same run, on the same simulator. Prints a table and writes bench/results.json.

Method
- One `outpostwatch simulate` on loopback holds the orders (two line items each). A latency is a
  simulator fault `{"kind": "hang", "seconds": L, "ratio": 1.0, "operation": "GetOrder"}`: with a
  ratio and neither `count` nor `for` it never expires, and it holds every GetOrder answer L s
  (the signature is checked as usual). Measured at 0, 20 and 50 ms (`--latency-ms`).
- Each process is measured by itself: CPU (user+sys of all its threads) and context switches
  (voluntary+involuntary) from wait4, which counts them exactly; peak RSS from GNU time's %M
  (`/usr/bin/time` forks its child from a 1 MiB process) or, without it, VmHWM from
  /proc/PID/status sampled every 5 ms until the process ends. Never wait4's ru_maxrss of a
  child of Python: after vfork+exec it carries the Python parent's peak.
- `once`: a poll of every order, nothing changed, outpostwatch and the boto3 loop in interleaved
  rounds (outpostwatch, boto3, outpostwatch, boto3, ...) at each latency, after one cold round
  each (empty database, every order first seen). Medians with min-max; ratios from medians.
  Also the 10 %-changed case (10 % of the orders changed before each round) at 0 ms.
  outpostwatch runs with concurrency = 16, max_rps = 100000 (no pacing), journald off.
  "boto3 loop" is the CPU the boto3 process spent inside its polling loop (the script measures
  it with process_time), i.e. without interpreter start, imports and client creation: the
  steady-state figure `run` is compared with.
- `run`: the daemon in its steady state. `interval` = orders / rate, so N orders give about
  100 polls/s (and 20 orders about 1 poll/s); after the startup spread (min(interval, 60 s))
  plus a margin, the latencies are cycled in windows (0, 20, 50, 0, 20, 50, ...) on the same
  process, each after a short settle; concurrency = 16, max_rps = twice the rate. Per window: CPU from the per-thread
  /proc/PID/task/*/schedstat run times (nanoseconds; when a thread ended in the window, the
  /proc/PID/stat difference if larger), context switches summed over /proc/PID/task/*/status, polls from the
  simulator's GetOrder call count. Medians over windows with min-max.
- RSS: peak RSS of `once` (cold: empty database; warm: nothing changed) at each size of
  `--rss-orders`; of `run` (VmHWM and VmRSS after the windows).
- Idle: `run` on a 5-minute interval after its 60 s startup spread, when no order is due for
  minutes: CPU, wake-ups (context switches per second, all threads) and RSS, at 10 orders and
  at each RSS size (the daemons run side by side, measured in the same window).
- Start to READY=1 and to the first GetOrder; webhook delivery figures from the Swift
  measurement tests (skipped with --no-delivery or --quick).

`--quick` is a smoke run (200 orders, short windows, 2 rounds). BENCH_ORDERS sets the orders of
`once`/`run` (default 2 000), BENCH_WINDOW_S the length of one `run` window (default 10 s)."""
import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = os.environ.get("OUTPOSTWATCH_BIN", str(ROOT / ".build/release/outpostwatch"))
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
CLK_TCK = os.sysconf("SC_CLK_TCK")
T0 = time.monotonic()
STARTED = []          # every process this script started, ended in main's finally


def log(msg):
    sys.stderr.write(f"[{time.monotonic() - T0:7.1f} s] {msg}\n")
    sys.stderr.flush()


def order_id(i):
    return "oo-%017x" % (i + 1)


def wire_order(i, status="IN_PROGRESS", item_status="BUILDING"):
    return {"OrderId": order_id(i), "OutpostId": "op-0123456789abcdef0", "Status": status,
            "OrderType": "OUTPOST", "PaymentOption": "ALL_UPFRONT", "PaymentTerm": "THREE_YEARS",
            "OrderSubmissionDate": 1764300000,
            "LineItems": [{"CatalogItemId": "WH4B5V4", "LineItemId": "ooi-%017x" % (2 * i + 1),
                           "Quantity": 1, "Status": item_status},
                          {"CatalogItemId": "WH4B5V4", "LineItemId": "ooi-%017x" % (2 * i + 2),
                           "Quantity": 1, "Status": item_status}]}


# ---------------------------------------------------------------------------------------------
# statistics

def summary(values):
    """Median and spread of a list of numbers (None when empty)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values),
            "values": values}


def med(s):
    return s["median"] if s else None


def ratio(a, b):
    return a / b if a is not None and b else None


# ---------------------------------------------------------------------------------------------
# simulator and processes

class Simulator:
    def __init__(self, tmp, name, orders):
        scen = tmp / f"scenario-{name}.json"
        scen.write_text(json.dumps({"orders": orders, "timeline": []}))
        self.proc = subprocess.Popen([BIN, "simulate", "--listen", "127.0.0.1:0", "--speed", "0", "--scenario", str(scen)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        STARTED.append(self.proc)
        line = self.proc.stdout.readline()
        m = re.search(r"http://[^\s:]+:(\d+)", line)
        if not m:
            raise SystemExit(f"simulator did not start: {line!r}")
        self.url = "http://127.0.0.1:%s" % m.group(1)
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()    # never let its pipe fill

    def admin(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()

    def get_order_calls(self):
        stats = json.loads(self.admin("GET", "/_simulator/stats"))
        return stats.get("operations", {}).get("GetOrder", {}).get("calls", 0)

    def set_latency(self, ms):
        """Every GetOrder answered `ms` late, until the next call (a fault with only a ratio never expires)."""
        self.admin("DELETE", "/_simulator/faults")
        if ms > 0:
            self.admin("POST", "/_simulator/faults",
                       {"kind": "hang", "seconds": ms / 1000, "ratio": 1.0, "operation": "GetOrder"})
        active = json.loads(self.admin("GET", "/_simulator/faults"))
        text = json.dumps(active)
        if (ms > 0) != ("hang" in text):
            raise SystemExit(f"latency fault not in force: {text}")

    def stop(self):
        stop(self.proc)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def proc_status(pid, *keys):
    """Values (kB -> MiB for Vm*) of /proc/PID/status lines."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0]) / 1024 if k.startswith("Vm") else int(v.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def run_measured(cmd, env):
    """Runs a command to completion. CPU and context switches from wait4 (exact, all threads),
    peak RSS from GNU time (%M) or sampled VmHWM; returns a dict with stdout."""
    tmpf = None
    full = cmd
    if GNU_TIME:
        fd, tmpf = tempfile.mkstemp(prefix="bench-time-")
        os.close(fd)
        full = [GNU_TIME, "-f", "%M", "-o", tmpf] + cmd
    start = time.monotonic()
    proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    STARTED.append(proc)
    hwm = [0.0]
    done = threading.Event()

    def sample():
        # Without GNU time, VmHWM of the process (its own address space, set up at exec) until it ends.
        while not done.is_set():
            v = proc_status(proc.pid, "VmHWM").get("VmHWM")
            if v:
                hwm[0] = max(hwm[0], v)
            done.wait(0.005)

    sampler = None
    if not GNU_TIME:
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    out_chunks, err_chunks = [], []
    t_out = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()))
    t_err = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()))
    t_out.start(); t_err.start()
    t_out.join(); t_err.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    done.set()
    if sampler:
        sampler.join()
    code = proc.returncode
    peak = hwm[0]
    if tmpf:
        lines = [l for l in Path(tmpf).read_text().splitlines() if l.strip()]
        os.unlink(tmpf)
        peak = int(lines[-1]) / 1024 if lines and lines[-1].strip().isdigit() else 0.0
    if code != 0:
        sys.stderr.write(err_chunks[0].decode()[-2000:])
        raise SystemExit(f"{cmd[0]} exited {code}")
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
            "ctxsw": usage.ru_nvcsw + usage.ru_nivcsw, "wall_s": wall, "peak_rss_mib": peak,
            "stdout": out_chunks[0].decode()}


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
    STARTED.append(p)
    try:
        while "READY=1" not in s.recv(4096).decode():
            pass
    finally:
        s.close()
    return p


def sample_process(pid):
    """Per-thread run time (ns) and context switches, the process's CPU ticks, RSS."""
    tasks = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            ns = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
            sw = 0
            for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    sw += int(line.split()[1])
            tasks[tid] = (ns, sw)
        except (FileNotFoundError, ProcessLookupError):
            pass
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    st = proc_status(pid, "VmRSS", "VmHWM")
    return {"t": time.monotonic(), "tasks": tasks, "stat_cpu_s": (int(fields[11]) + int(fields[12])) / CLK_TCK,
            "rss_mib": st.get("VmRSS", 0.0), "hwm_mib": st.get("VmHWM", 0.0)}


def between(a, b):
    """CPU seconds, context switches and seconds between two samples. Threads started in between
    count all of theirs; if a thread ended in between, CPU falls back to /proc/PID/stat (which
    keeps ended threads' time, at 1/CLK_TCK resolution) and its switches are lost (counted in
    `threads_ended`)."""
    ended = [t for t in a["tasks"] if t not in b["tasks"]]
    ns = sum(v[0] - a["tasks"].get(t, (0, 0))[0] for t, v in b["tasks"].items())
    sw = sum(v[1] - a["tasks"].get(t, (0, 0))[1] for t, v in b["tasks"].items())
    cpu = ns / 1e9 if not ended else max(ns / 1e9, b["stat_cpu_s"] - a["stat_cpu_s"])
    return {"cpu_s": cpu, "ctxsw": sw, "seconds": b["t"] - a["t"], "threads_ended": len(ended)}


def duration(seconds):
    ms = int(round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def write_config(path, ids, url, db, interval="5m", concurrency=16, max_rps=100000, terminal_off=False):
    lines = ["[aws]", 'region = "us-west-2"', f'endpoint = "{url}"', "[poll]", f'interval = "{interval}"',
             f"concurrency = {concurrency}", f"max_rps = {max_rps}"]
    if terminal_off:
        lines.append('terminal_interval = "off"')
    lines += ["[storage]", f'path = "{db}"', "[journald]", "enabled = false"]
    for i in ids:
        lines += ["[[order]]", f'id = "{i}"']
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# stages

class Bench:
    def __init__(self, opts, tmp):
        self.o = opts
        self.tmp = tmp
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDBENCH", AWS_SECRET_ACCESS_KEY="bench",
                        AWS_EC2_METADATA_DISABLED="true")
        self.n = opts.orders
        self.sizes = sorted(set(opts.rss_orders))
        total = max([self.n] + self.sizes)
        self.orders = [wire_order(i) for i in range(total)]
        log(f"simulator with {total} orders")
        self.sim = Simulator(tmp, "main", self.orders)
        self.url = self.sim.url

    def tools(self, n, tag):
        """Commands of both tools over the first n orders, each with its own database."""
        ids = [order_id(i) for i in range(n)]
        orders_file = self.tmp / f"orders-{n}.txt"
        orders_file.write_text("\n".join(ids))
        config = write_config(self.tmp / f"once-{tag}.toml", ids, self.url, self.tmp / f"ow-{tag}.db")
        ow = [BIN, "once", "--config", str(config)]
        py = [sys.executable, str(ROOT / "bench/boto3_poller.py"), "--endpoint", self.url,
              "--db", str(self.tmp / f"py-{tag}.db"), "--orders", str(orders_file)]
        return ow, py, config

    def once_run(self, tool, cmd, n):
        r = run_measured(cmd, self.env)
        r["cpu_per_1000"] = r["cpu_s"] / n * 1000
        r["ctxsw_per_poll"] = r["ctxsw"] / n
        if tool == "boto3":
            info = json.loads(r["stdout"].strip().splitlines()[-1])
            if info["polls"] != n:
                raise SystemExit(f"boto3 loop polled {info['polls']} of {n}")
            r["loop_cpu_per_1000"] = info["loop_cpu_s"] / n * 1000
            r["setup_cpu_s"] = info["setup_cpu_s"]
            r["changed"] = info["changed"]
        del r["stdout"]
        return r

    def interleaved(self, n, cmds, rounds, before_round=None):
        rows = {"outpostwatch": [], "boto3": []}
        for k in range(rounds):
            if before_round:
                before_round(k)
            for tool in ("outpostwatch", "boto3"):
                r = self.once_run(tool, cmds[tool], n)
                rows[tool].append(r)
                log(f"  {tool:12} round {k + 1}: {r['cpu_per_1000']:.3f} CPU s/1000 polls, "
                    f"{r['ctxsw_per_poll']:.1f} switches/poll, {r['peak_rss_mib']:.1f} MiB, {r['wall_s']:.1f} s")
        return rows

    @staticmethod
    def summarise(rows):
        out = {}
        for tool, runs in rows.items():
            s = {k: summary([r[k] for r in runs]) for k in
                 ("cpu_per_1000", "ctxsw_per_poll", "peak_rss_mib", "wall_s")}
            if tool == "boto3":
                s["loop_cpu_per_1000"] = summary([r["loop_cpu_per_1000"] for r in runs])
            out[tool] = s
        out["ratio_cpu"] = ratio(med(out["outpostwatch"]["cpu_per_1000"]), med(out["boto3"]["cpu_per_1000"]))
        out["ratio_rss"] = ratio(med(out["outpostwatch"]["peak_rss_mib"]), med(out["boto3"]["peak_rss_mib"]))
        return out

    def stage_once(self, results):
        n = self.n
        ow, py, _ = self.tools(n, "main")
        cmds = {"outpostwatch": ow, "boto3": py}
        self.sim.set_latency(0)
        log(f"once: cold round ({n} orders, empty databases)")
        cold = self.interleaved(n, cmds, 1)
        results["once_cold"] = self.summarise(cold)
        results["once"] = {}
        for ms in self.o.latency_ms:
            self.sim.set_latency(ms)
            log(f"once: {ms} ms, {self.o.rounds} interleaved rounds")
            results["once"][str(ms)] = self.summarise(self.interleaved(n, cmds, self.o.rounds))
        self.sim.set_latency(0)

        changed_ids = list(range(0, n, 10))

        def change(k):
            for i in changed_ids:
                o = json.loads(json.dumps(self.orders[i]))
                o["Status"] = "DELIVERED" if k % 2 == 0 else "IN_PROGRESS"
                o["LineItems"][0]["Status"] = "SHIPPED"
                o["LineItems"][0]["ShipmentInformation"] = {"ShipmentCarrier": "UPS",
                                                            "ShipmentTrackingNumber": f"1Z{k:04d}{i:012d}"}
                self.sim.admin("PUT", f"/_simulator/orders/{o['OrderId']}", o)

        log(f"once: 10 % changed before each round, 0 ms, {self.o.rounds} rounds")
        rows = self.interleaved(n, cmds, self.o.rounds, before_round=change)
        for r in rows["boto3"]:
            if r["changed"] != len(changed_ids):
                raise SystemExit(f"boto3 loop saw {r['changed']} changes, expected {len(changed_ids)}")
        results["once_changed_10pct"] = self.summarise(rows)
        for i in changed_ids:                         # back to the state the other stages expect
            self.sim.admin("PUT", f"/_simulator/orders/{self.orders[i]['OrderId']}", self.orders[i])

    def stage_rss(self, results):
        """Peak RSS of `once` at each size: cold (empty database) then warm (nothing changed)."""
        self.sim.set_latency(0)
        results["rss"] = {}
        for size in self.sizes:
            if size == self.n and "once" in results and "0" in results["once"]:
                entry = {"cold": {t: results["once_cold"][t]["peak_rss_mib"] for t in ("outpostwatch", "boto3")},
                         "warm": {t: results["once"]["0"][t]["peak_rss_mib"] for t in ("outpostwatch", "boto3")},
                         "from": "once stage"}
            else:
                ow, py, _ = self.tools(size, f"rss{size}")
                log(f"rss: {size} orders, cold then warm, {self.o.rss_rounds} round(s)")
                cold = {"outpostwatch": [], "boto3": []}
                warm = {"outpostwatch": [], "boto3": []}
                for k in range(self.o.rss_rounds):
                    for tool, cmd in (("outpostwatch", ow), ("boto3", py)):
                        # a cold run needs an empty database
                        db = self.tmp / (f"ow-rss{size}.db" if tool == "outpostwatch" else f"py-rss{size}.db")
                        for suffix in ("", "-wal", "-shm", "-journal"):
                            Path(str(db) + suffix).unlink(missing_ok=True)
                        c = self.once_run(tool, cmd, size)
                        w = self.once_run(tool, cmd, size)
                        cold[tool].append(c)
                        warm[tool].append(w)
                        log(f"  {tool:12} {size}: cold {c['peak_rss_mib']:.1f} MiB ({c['wall_s']:.1f} s), "
                            f"warm {w['peak_rss_mib']:.1f} MiB ({w['wall_s']:.1f} s, {w['cpu_per_1000']:.3f} CPU s/1000)")
                entry = {"cold": {t: summary([r["peak_rss_mib"] for r in cold[t]]) for t in cold},
                         "warm": {t: summary([r["peak_rss_mib"] for r in warm[t]]) for t in warm},
                         "warm_cpu_per_1000": {t: summary([r["cpu_per_1000"] for r in warm[t]]) for t in warm}}
            entry["ratio_warm"] = ratio(med(entry["warm"]["outpostwatch"]), med(entry["warm"]["boto3"]))
            entry["ratio_cold"] = ratio(med(entry["cold"]["outpostwatch"]), med(entry["cold"]["boto3"]))
            results["rss"][str(size)] = entry

    def steady(self, n, rate, window, rounds, label):
        """`run` over n orders at about `rate` polls/s: windows cycling the latencies."""
        interval = n / rate
        ids = [order_id(i) for i in range(n)]
        db = self.tmp / f"run-{label}.db"
        main_db = self.tmp / "ow-main.db"
        if n == self.n and main_db.exists():
            shutil.copy(main_db, db)                   # a warm store, as after a restart
        config = write_config(self.tmp / f"run-{label}.toml", ids, self.url, db, interval=duration(interval),
                              max_rps=max(5, 2 * rate))
        self.sim.set_latency(self.o.latency_ms[0])
        log(f"run {label}: {n} orders, interval {duration(interval)}, max_rps {max(5, 2 * rate)}")
        p = start_run(config, self.env, self.tmp)
        warm = min(interval, 60) + max(2.0, 0.1 * min(interval, 60))
        try:
            time.sleep(warm)
            windows = {str(ms): [] for ms in self.o.latency_ms}
            for k in range(rounds):
                for ms in self.o.latency_ms:
                    self.sim.set_latency(ms)
                    time.sleep(self.o.settle)
                    c0, a = self.sim.get_order_calls(), sample_process(p.pid)
                    time.sleep(window)
                    c1, b = self.sim.get_order_calls(), sample_process(p.pid)
                    d = between(a, b)
                    polls = c1 - c0
                    w = {"polls": polls, "polls_per_s": polls / d["seconds"], "cpu_s": d["cpu_s"],
                         "cpu_per_1000": d["cpu_s"] / polls * 1000 if polls else None,
                         "ctxsw_per_poll": d["ctxsw"] / polls if polls else None,
                         "ctxsw_per_s": d["ctxsw"] / d["seconds"], "cpu_percent": d["cpu_s"] / d["seconds"] * 100,
                         "threads_ended": d["threads_ended"], "rss_mib": b["rss_mib"]}
                    windows[str(ms)].append(w)
                    log(f"  {ms:3} ms window {k + 1}: {w['polls_per_s']:.1f} polls/s, "
                        f"{(w['cpu_per_1000'] or 0):.3f} CPU s/1000 polls, {(w['ctxsw_per_poll'] or 0):.1f} switches/poll, "
                        f"{w['ctxsw_per_s']:.0f} switches/s, RSS {w['rss_mib']:.1f} MiB")
            end = sample_process(p.pid)
        finally:
            stop(p)
        self.sim.set_latency(0)
        out = {"orders": n, "interval": duration(interval), "target_polls_per_s": rate, "warmup_s": warm,
               "window_s": window, "by_latency": {}, "rss_mib": end["rss_mib"], "hwm_mib": end["hwm_mib"]}
        for ms, ws in windows.items():
            out["by_latency"][ms] = {k: summary([w[k] for w in ws]) for k in
                                     ("polls_per_s", "cpu_per_1000", "ctxsw_per_poll", "ctxsw_per_s", "cpu_percent")}
            out["by_latency"][ms]["windows"] = ws
        return out

    def stage_run(self, results):
        results["run"] = {
            "100_per_s": self.steady(self.n, 100, self.o.window, self.o.run_rounds, "100ps"),
            "1_per_s": self.steady(self.o.slow_orders, 1, self.o.slow_window, self.o.run_rounds, "1ps"),
        }

    def stage_idle(self, results):
        """`run` with nothing due: one daemon per size (10 orders and each RSS size), started
        together on a 5-minute interval; once the startup spread (60 s) is over, no order is due
        before 4.5 minutes, and all are measured in the same window."""
        self.sim.set_latency(0)
        sizes = sorted(set([10] + self.sizes))
        daemons = {}
        results["idle"] = {}
        try:
            for size in sizes:
                ids = [order_id(i) for i in range(size)]
                config = write_config(self.tmp / f"idle-{size}.toml", ids, self.url, self.tmp / f"idle-{size}.db",
                                      interval="5m", max_rps=1000)
                daemons[size] = start_run(config, self.env, self.tmp)
            log(f"idle: {len(sizes)} daemons ({', '.join(map(str, sizes))} orders) started; waiting out the 60 s spread")
            time.sleep(60 + 2 * self.o.settle)
            c0 = self.sim.get_order_calls()
            before = {size: sample_process(p.pid) for size, p in daemons.items()}
            time.sleep(self.o.idle_window)
            after = {size: sample_process(p.pid) for size, p in daemons.items()}
            c1 = self.sim.get_order_calls()
        finally:
            for p in daemons.values():
                stop(p)
        for size in sizes:
            d = between(before[size], after[size])
            results["idle"][str(size)] = {"cpu_percent": d["cpu_s"] / d["seconds"] * 100,
                                          "wakeups_per_s": d["ctxsw"] / d["seconds"],
                                          "rss_mib": after[size]["rss_mib"], "hwm_mib": after[size]["hwm_mib"],
                                          "window_s": d["seconds"], "threads_ended": d["threads_ended"]}
            log(f"  idle {size} orders: {results['idle'][str(size)]}")
        results["idle_polls_in_window"] = c1 - c0

    def stage_ready(self, results):
        """Start to READY=1 and to the first GetOrder the simulator sees, with a warm store."""
        self.sim.set_latency(0)
        ids = [order_id(i) for i in range(self.n)]
        db = self.tmp / "ready.db"
        if (self.tmp / "ow-main.db").exists():
            shutil.copy(self.tmp / "ow-main.db", db)
        config = write_config(self.tmp / "ready.toml", ids, self.url, db)
        ready, first_poll = [], []
        for _ in range(self.o.ready_reps):
            sock_path = str(self.tmp / "notify.sock")
            s = notify_socket(sock_path, 30)
            calls_before = self.sim.get_order_calls()
            t0 = time.monotonic()
            p = subprocess.Popen([BIN, "run", "--config", str(config)], env=dict(self.env, NOTIFY_SOCKET=sock_path),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            STARTED.append(p)
            try:
                while "READY=1" not in s.recv(4096).decode():
                    pass
                ready.append((time.monotonic() - t0) * 1000)
                while self.sim.get_order_calls() == calls_before:
                    time.sleep(0.001)
                first_poll.append((time.monotonic() - t0) * 1000)
            finally:
                stop(p)
                s.close()
        results["start"] = {"orders": self.n, "ready_ms": summary(ready), "first_poll_ms": summary(first_poll)}


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


# ---------------------------------------------------------------------------------------------
# report

def fmt(s, digits=2, unit=""):
    """median [min–max] of a summary."""
    if s is None:
        return "–"
    if isinstance(s, (int, float)):
        return f"{s:.{digits}f}{unit}"
    if s["n"] == 1:
        return f"{s['median']:.{digits}f}{unit}"
    return f"{s['median']:.{digits}f} [{s['min']:.{digits}f}–{s['max']:.{digits}f}]{unit}"


def fr(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def report(results):
    lines = []
    add = lines.append
    n = results["orders"]
    add(f"outpostwatch vs the boto3 + sqlite3 loop, {n} orders of two line items, simulator on loopback "
        f"({results['machine']}, {results['date']})")
    add(f"median [min–max] of {results['rounds']} interleaved rounds; ratios of medians; CPU = user+sys of the process")
    w = (44, 26, 26, 8)

    def row(label, a, b, r):
        add(f"{label:<{w[0]}}{a:>{w[1]}}{b:>{w[2]}}{r:>{w[3]}}")

    if "once" in results:
        add("")
        row("once: CPU s / 1000 polls, nothing changed", "outpostwatch", "boto3 (whole process)", "ratio")
        for ms, e in results["once"].items():
            row(f"  server answers in {ms} ms", fmt(e["outpostwatch"]["cpu_per_1000"], 3),
                fmt(e["boto3"]["cpu_per_1000"], 3), fr(e["ratio_cpu"]))
        e = results["once_changed_10pct"]
        row("  10 % changed, 0 ms", fmt(e["outpostwatch"]["cpu_per_1000"], 3), fmt(e["boto3"]["cpu_per_1000"], 3),
            fr(e["ratio_cpu"]))
        e = results["once_cold"]
        row("  cold (empty store, all first seen), 0 ms", fmt(e["outpostwatch"]["cpu_per_1000"], 3),
            fmt(e["boto3"]["cpu_per_1000"], 3), fr(e["ratio_cpu"]))
        row("once: context switches / poll", "", "", "")
        for ms, e in results["once"].items():
            row(f"  {ms} ms", fmt(e["outpostwatch"]["ctxsw_per_poll"], 1), fmt(e["boto3"]["ctxsw_per_poll"], 1), "")
        row("once: wall s", "", "", "")
        for ms, e in results["once"].items():
            row(f"  {ms} ms", fmt(e["outpostwatch"]["wall_s"], 1), fmt(e["boto3"]["wall_s"], 1), "")
    if "run" in results:
        for key, label in (("100_per_s", "~100 polls/s"), ("1_per_s", "~1 poll/s")):
            r = results["run"][key]
            add("")
            row(f"run {label} ({r['orders']} orders, interval {r['interval']}):", "outpostwatch", "boto3 loop", "ratio")
            add(f"  (medians of {r['by_latency'][next(iter(r['by_latency']))]['cpu_per_1000']['n']} windows of "
                f"{r['window_s']:.0f} s after {r['warmup_s']:.0f} s warm-up; boto3 loop = CPU inside its polling loop)")
            for ms, e in r["by_latency"].items():
                py = results.get("once", {}).get(ms, {}).get("boto3", {}).get("loop_cpu_per_1000")
                row(f"  CPU s / 1000 polls, {ms} ms", fmt(e["cpu_per_1000"], 3), fmt(py, 3),
                    fr(ratio(med(e["cpu_per_1000"]), med(py))))
            for ms, e in r["by_latency"].items():
                py = results.get("once", {}).get(ms, {}).get("boto3", {}).get("ctxsw_per_poll")
                row(f"  context switches / poll, {ms} ms", fmt(e["ctxsw_per_poll"], 1), fmt(py, 1), "")
            for ms, e in r["by_latency"].items():
                row(f"  polls/s, CPU % of a core, {ms} ms", f"{fmt(e['polls_per_s'], 1)}, {fmt(e['cpu_percent'], 1)} %", "", "")
            row("  RSS now / peak (MiB)", f"{r['rss_mib']:.1f} / {r['hwm_mib']:.1f}", "", "")
    if "rss" in results:
        add("")
        row("peak RSS of once (MiB)", "outpostwatch", "boto3", "ratio")
        for size, e in results["rss"].items():
            row(f"  {size} orders, warm (nothing changed)", fmt(e["warm"]["outpostwatch"], 1),
                fmt(e["warm"]["boto3"], 1), fr(e["ratio_warm"]))
            row(f"  {size} orders, cold (empty store)", fmt(e["cold"]["outpostwatch"], 1),
                fmt(e["cold"]["boto3"], 1), fr(e["ratio_cold"]))
    if "idle" in results:
        add("")
        add(f"run with nothing due (5m interval, after the 60 s startup spread; "
            f"{results.get('idle_polls_in_window', '?')} polls in the window):")
        for size, e in results["idle"].items():
            add(f"  {size:>6} orders: {e['cpu_percent']:.2f} % of a core, {e['wakeups_per_s']:.1f} wake-ups/s, "
                f"RSS {e['rss_mib']:.1f} MiB (peak {e['hwm_mib']:.1f})")
    if "start" in results:
        s = results["start"]
        add("")
        add(f"start to READY=1: {fmt(s['ready_ms'], 0)} ms, to the first GetOrder: {fmt(s['first_poll_ms'], 0)} ms "
            f"({s['orders']} orders, warm store)")
    if "delivery" in results:
        d = results["delivery"]
        if "error" in d:
            add(f"webhooks: not measured ({d['error']})")
        else:
            add(f"webhooks: {d['events_per_s']} events/s; commit to webhook median {d['commit_to_webhook_median_ms']:.2f} ms, "
                f"p99 {d['commit_to_webhook_p99_ms']:.2f} ms")
    if results.get("skipped"):
        add(f"skipped (deadline): {', '.join(results['skipped'])}")
    if results.get("targets"):
        add("")
        add("issue 12 targets:")
        for t in results["targets"]:
            add(f"  {'met ' if t['met'] else 'MISS' if t['met'] is not None else '  ? '} {t['what']}: {t['measured']}")
    return "\n".join(lines)


def targets(results):
    out = []

    def check(what, value, limit, fmt_value=lambda v: f"{v:.2f}"):
        out.append({"what": what, "limit": limit, "value": value,
                    "measured": "–" if value is None else fmt_value(value),
                    "met": None if value is None else value <= limit})

    run = results.get("run", {}).get("100_per_s", {}).get("by_latency", {})
    once = results.get("once", {})
    for ms, limit in (("20", 0.2), ("0", 0.3)):
        if ms in run and ms in once:
            check(f"run ~100 polls/s, {ms} ms: CPU/poll ≤ {limit} of the boto3 loop's", ratio(
                med(run[ms]["cpu_per_1000"]), med(once[ms]["boto3"]["loop_cpu_per_1000"])), limit)
    for ms, e in once.items():
        check(f"once, {ms} ms: CPU/poll ≤ 0.15 of boto3's", e["ratio_cpu"], 0.15)
    for key in ("100_per_s", "1_per_s"):
        for ms, e in results.get("run", {}).get(key, {}).get("by_latency", {}).items():
            check(f"run {key.replace('_per_s', '/s')}, {ms} ms: context switches per poll ≤ 3",
                  med(e["ctxsw_per_poll"]), 3, lambda v: f"{v:.1f}")
    for size, e in results.get("rss", {}).items():
        check(f"peak RSS at {size} orders (once, warm) ≤ 0.6 of boto3's", e["ratio_warm"], 0.6)
    idle = results.get("idle", {})
    if "10" in idle:
        check("idle RSS of run with 10 orders ≤ 20 MiB", idle["10"]["rss_mib"], 20, lambda v: f"{v:.1f} MiB")
    if len(idle) > 1:
        sizes = sorted(idle, key=int)
        lo, hi = idle[sizes[0]]["wakeups_per_s"], idle[sizes[-1]]["wakeups_per_s"]
        # "independent": the largest watch set wakes at most 1.5x (+1/s) as often as 10 orders
        check(f"idle wake-ups independent of the orders ({sizes[0]} → {sizes[-1]}: {lo:.1f} → {hi:.1f}/s), "
              "as the ratio", hi / max(lo, 0.1), 1.5)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 200 orders, short windows, 2 rounds")
    ap.add_argument("--orders", type=int, help="orders of once and run (default 2000, quick 200)")
    ap.add_argument("--rss-orders", help="comma-separated sizes for peak RSS (default 2000,10000; quick 200,1000)")
    ap.add_argument("--latency-ms", help="comma-separated server latencies (default 0,20,50)")
    ap.add_argument("--rounds", type=int, help="interleaved once rounds per latency (default 3, quick 2)")
    ap.add_argument("--rss-rounds", type=int, help="cold+warm rounds at each RSS size not covered by once (default 1)")
    ap.add_argument("--run-rounds", type=int, help="run windows per latency (default 3, quick 2)")
    ap.add_argument("--window", type=float, help="seconds of one run window at ~100 polls/s (default 10, quick 3)")
    ap.add_argument("--slow-window", type=float, help="seconds of one run window at ~1 poll/s (default 15, quick 4)")
    ap.add_argument("--stages", default="once,rss,run,idle,ready,delivery", help="which stages to run")
    ap.add_argument("--no-delivery", action="store_true", help="skip the Swift delivery measurement tests")
    ap.add_argument("--deadline", help="HH:MM (UTC): skip the later stages that would not end by then")
    ap.add_argument("--out", help="results file (default bench/results.json; quick bench/results-quick.json)")
    o = ap.parse_args()
    q = o.quick
    o.orders = o.orders or int(os.environ.get("BENCH_ORDERS", "200" if q else "2000"))
    o.rss_orders = [int(x) for x in (o.rss_orders or ("200,1000" if q else "2000,10000")).split(",")]
    o.latency_ms = [int(x) for x in (o.latency_ms or "0,20,50").split(",")]
    o.rounds = o.rounds or (2 if q else 3)
    o.rss_rounds = o.rss_rounds or 1
    o.run_rounds = o.run_rounds or (2 if q else 3)
    o.window = o.window or float(os.environ.get("BENCH_WINDOW_S", "3" if q else "10"))
    o.slow_window = o.slow_window or (4 if q else 15)
    o.slow_orders = 5 if q else 20
    o.settle = 1.0 if q else 2.0
    o.idle_window = 5 if q else 20
    o.ready_reps = 3 if q else 10
    stages = o.stages.split(",")
    if q or o.no_delivery:
        stages = [s for s in stages if s != "delivery"]
    out = Path(o.out) if o.out else ROOT / ("bench/results-quick.json" if q else "bench/results.json")
    if not os.access(BIN, os.X_OK):
        raise SystemExit(f"no outpostwatch binary at {BIN} (make build, or set OUTPOSTWATCH_BIN)")

    tmp = Path(tempfile.mkdtemp(prefix="outpostwatch-bench-"))
    results = {"orders": o.orders, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rounds": o.rounds,
               "latencies_ms": o.latency_ms, "quick": q,
               "peak_rss_from": "GNU time %M" if GNU_TIME else "/proc/PID/status VmHWM sampled every 5 ms",
               "cpu_from": "wait4 (once); /proc/PID/task/*/schedstat (run windows)",
               "binary": {"path": BIN, "mtime": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(os.stat(BIN).st_mtime)),
                          "size": os.stat(BIN).st_size},
               "source": subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                        text=True).stdout.strip()}
    deadline = None
    if o.deadline:
        hh, mm = map(int, o.deadline.split(":"))
        now = time.time()
        deadline = now - now % 86400 + hh * 3600 + mm * 60
        if deadline < now:
            deadline += 86400
    estimates = {   # seconds, rough, on a quiet 2-core machine
        "run": 2 * 25 + o.run_rounds * len(o.latency_ms) * (o.window + o.slow_window + 2 * o.settle + 1),
        "rss": sum(size * 0.02 * o.rss_rounds for size in o.rss_orders if size != o.orders),
        "idle": 62 + 2 * o.settle + o.idle_window + 15,
        "ready": o.ready_reps * 1.5,
    }
    results["skipped"] = []

    def save():
        out.write_text(json.dumps(results, indent=2) + "\n")

    try:
        b = Bench(o, tmp)
        for stage in ("once", "run", "rss", "idle", "ready"):
            if stage not in stages:
                continue
            if deadline and stage in estimates and time.time() + estimates[stage] > deadline:
                log(f"skipping {stage}: about {estimates[stage]:.0f} s, not enough before the deadline")
                results["skipped"].append(stage)
                continue
            getattr(b, f"stage_{stage}")(results)
            save()
        b.sim.stop()
        if "delivery" in stages:
            log("delivery: swift test --filter SinksTests.MeasurementTests")
            try:
                results["delivery"] = measure_delivery()
            except SystemExit as e:
                results["delivery"] = {"error": str(e)}
    finally:
        for p in STARTED:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    results["targets"] = targets(results)
    results["elapsed_s"] = time.monotonic() - T0
    text = report(results)
    print(text)
    results["table"] = text.splitlines()
    save()
    print(f"written: {out} ({results['elapsed_s']:.0f} s)")


if __name__ == "__main__":
    main()
