"""State metrics on /metrics (docs/metrics.md): the per-order series, build_info and process_*
from the real daemon, the whole output checked by `promtool check metrics`, and the series of an
order the config no longer names gone after a SIGHUP reload."""
import re
import shutil
import signal
import subprocess
import time
import urllib.request

from conftest import ORDER_1, ORDER_2, ROOT, free_port, need, wait_for, write_config
from test_daemon import start_daemon


def scrape(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return None


def samples(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_state_metrics_pass_promtool_and_follow_reloads(binary, simulator, tmp_path):
    need(shutil.which("promtool") is not None, "promtool (Debian prometheus; make deps)")
    port = free_port()
    http = f'[http]\nlisten = "127.0.0.1:{port}"\n'
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", journald=False, extra=http)
    # A label with characters the exposition format must escape.
    text = config.read_text().replace('label = "rack 1"', 'label = "rack \\"1\\" \\\\ west"')
    config.write_text(text)
    proc, notify = start_daemon(binary, config, tmp_path)
    try:
        wait_for(lambda: notify.has("READY=1"), what="READY=1")
        # Before its first poll an order shows status UNKNOWN and no outpost: wait until both were polled.
        body = wait_for(lambda: (t := scrape(port)) and t.count("outpostwatch_order_status{") == 2
                        and 'status="UNKNOWN"' not in t and t, what="both orders polled in /metrics")
        check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr + body

        s = samples(body)
        status_1 = [k for k in s if k.startswith("outpostwatch_order_status{") and f'order_id="{ORDER_1}"' in k]
        assert len(status_1) == 1 and s[status_1[0]] == 1
        assert 'account="default"' in status_1[0] and 'label="rack \\"1\\" \\\\ west"' in status_1[0]
        assert re.search(r'outpost_id="op-[0-9a-f]{17}"', status_1[0])
        since = s[f'outpostwatch_order_status_since_timestamp_seconds{{account="default",order_id="{ORDER_1}"}}']
        assert 0 < since <= time.time() + 1
        assert any(k.startswith("outpostwatch_line_item_status{") and ORDER_1 in k for k in s)
        assert s[f'outpostwatch_order_stalled{{account="default",order_id="{ORDER_1}"}}'] == 0
        assert s["outpostwatch_orders_failing"] == 0
        assert any(k.startswith("outpostwatch_build_info{version=") and v == 1 for k, v in s.items())
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds",
                     "process_open_fds", "process_max_fds", "process_virtual_memory_bytes"):
            assert s[name] > 0, name
        assert abs(s["process_start_time_seconds"] - time.time()) < 120
        assert s["process_resident_memory_bytes"] > 1_000_000

        # Every metric the shipped alert rules read is one the daemon exports (up is Prometheus's own).
        rules = (ROOT / "config/prometheus/outpostwatch.rules.yml").read_text()
        families = set(re.findall(r"^# TYPE (\S+) ", body, re.M))
        for name in set(re.findall(r"\b(?:outpostwatch|process)_[a-z_]+", rules)):
            assert name in families, f"the rules read {name}, which /metrics does not export"

        # ORDER_2 leaves the config: after the reload its series are gone, ORDER_1's stay.
        write_config(config, simulator.url, tmp_path / "s.db", orders=[ORDER_1], journald=False, extra=http)
        proc.send_signal(signal.SIGHUP)
        body = wait_for(lambda: (t := scrape(port)) and ORDER_2 not in t and t, what="ORDER_2 gone from /metrics")
        assert f'order_id="{ORDER_1}"' in body
        check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        notify.close()
