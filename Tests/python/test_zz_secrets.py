"""Secrets never leak (docs/service.md: AWS secret access keys, session tokens and webhook secrets
never appear in logs, events or errors), checked over everything the whole test session
produced. The file is named to run last (pytest runs files in name order).

The test first provokes the paths where secrets tend to leak (a verbose daemon with a session
token, logging to journald, API faults, failing webhooks, an invalid config on reload, broken
configs and credential files, every CLI command), then scans:
- every output run_cli captured in this session (conftest.CAPTURED_OUTPUTS);
- every *.log file under the session's pytest temp dir (the logs of every daemon started by any
  test) and every state database there (*.db, *.db-wal, as bytes);
- every request (body and headers) every Receiver of the session got;
- every journal entry with SYSLOG_IDENTIFIER=outpostwatch written since the session started,
  all fields.
"""
import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import conftest
from aws_fakes import PAGERDUTY_KEY
from conftest import (AWS_SECRET, ORDER_1, ORDER_2, WEBHOOK_SECRET, Receiver, Simulator, daemon_env, need,
                      run_cli, wait_for, write_config)

SESSION_TOKEN = "TESTSESSIONTOKENdoNotLeak/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+="
# A second webhook secret, only ever written into broken configs.
BROKEN_SECRET = "whsec_" + base64.b64encode(b"broken-config-secret-abcdefghij").decode()
WEBHOOK_KEY = base64.b64decode(WEBHOOK_SECRET[len("whsec_"):])
from test_status_page import TOKEN as STATUS_PAGE_TOKEN  # noqa: E402

SECRETS = {
    "the AWS secret access key": AWS_SECRET,
    "the AWS session token": SESSION_TOKEN,
    "the webhook secret": WEBHOOK_SECRET,
    "the PagerDuty routing key": PAGERDUTY_KEY,
    "the webhook secret's base64 part": WEBHOOK_SECRET[len("whsec_"):],
    "the webhook key bytes": WEBHOOK_KEY.decode("latin-1"),
    "the broken config's webhook secret": BROKEN_SECRET[len("whsec_"):],
    "the status page's bearer token": STATUS_PAGE_TOKEN,
}


def journal_since():
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(conftest.SESSION_STARTED - 1))


def journal_text():
    return subprocess.run(["journalctl", "-o", "cat", "--no-pager", "--since", journal_since(),
                           "SYSLOG_IDENTIFIER=outpostwatch"], capture_output=True, text=True, timeout=60).stdout


def provoke(binary, tmp_path):
    """Runs the daemon and the CLI through their error paths; returns the journal's time mark."""
    sim = Simulator(binary, speed=0)
    receiver = Receiver()
    try:
        config = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", webhook_url=receiver.url,
                              journald=True, interval="200ms")
        good = Path(config).read_text()
        # The daemon's operational logs go to journald when JOURNAL_STREAM names its stderr.
        log_path = tmp_path / "secrets-daemon.log"
        log = open(log_path, "ab")
        st = os.fstat(log.fileno())
        env = daemon_env({"AWS_SESSION_TOKEN": SESSION_TOKEN, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        receiver.status = 500
        sim.admin("POST", "/_simulator/faults", {"kind": "error500", "count": 3, "operation": "GetOrder"})
        sim.admin("POST", "/_simulator/faults", {"kind": "malformed", "count": 1, "operation": "GetOrder"})
        sim.admin("POST", "/_simulator/faults", {"kind": "throttle", "count": 2, "operation": "GetOrder"})
        proc = subprocess.Popen([binary, "run", "--verbose", "--config", str(config)], env=env,
                                stdout=log, stderr=log)
        try:
            wait_for(lambda: len(json.loads(run_cli(binary, "history", "--json", config=config).stdout or "[]")) >= 2,
                     timeout=60, what="the baselines (after the injected API faults)")
            for _ in range(6):
                sim.advance()
            wait_for(lambda: len(receiver.requests) >= 3, timeout=60, what="failing webhook attempts")
            # An invalid config on reload, with a secret next to the error.
            Path(config).write_text(good.replace('secret = "', 'secert = "' + BROKEN_SECRET + '"\nsecret = "'))
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "keeping the running one" in journal_text(), timeout=30,
                     what="the refused reload to be logged to journald")
            Path(config).write_text(good)
            receiver.status = 204
            sim.advance(to="end")
            wait_for(lambda: len(receiver.events()) >= 5, timeout=90, what="deliveries")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
            log.close()
        # Every command, on the good config.
        for args in (["check-config"], ["status"], ["status", "--json"], ["history"], ["history", "--json"],
                     ["deliveries"], ["deliveries", "--json"], ["test-sink", "ops"], ["once", "--json"]):
            run_cli(binary, *args, config=config, env={"AWS_SESSION_TOKEN": SESSION_TOKEN})
        event_id = json.loads(run_cli(binary, "history", "--json", config=config).stdout)[-1]["id"]
        run_cli(binary, "redeliver", event_id, config=config)
        # Broken configs: a secret next to every kind of error.
        broken = tmp_path / "broken.toml"
        for text in (
            good.replace('secret = "' + WEBHOOK_SECRET, 'secret = "' + BROKEN_SECRET + '"\nsecert = "' + BROKEN_SECRET),
            good.replace('secret = "' + WEBHOOK_SECRET + '"', "secret = " + BROKEN_SECRET),
            good.replace('secret = "' + WEBHOOK_SECRET + '"', 'secret = ["' + BROKEN_SECRET + '"]'),
            good.replace('secret = "' + WEBHOOK_SECRET + '"', 'secret = "' + BROKEN_SECRET + '!"'),
            good.replace('url = "', 'url = "http://user:' + BROKEN_SECRET[6:] + '@hooks.example.com/x" #'),
        ):
            broken.write_text(text)
            os.chmod(broken, 0o644)     # readable by others: the warning path too
            for command in ("check-config", "once"):
                run_cli(binary, command, config=broken)
        # A credentials file with a broken line holding the secret, and no environment credentials.
        home = tmp_path / "home"
        (home / ".aws").mkdir(parents=True)
        (home / ".aws" / "credentials").write_text(
            f"[default]\naws_access_key_id = AKIDTESTEXAMPLE\naws_secret_access_key {AWS_SECRET}\n"
            f"aws_session_token = {SESSION_TOKEN}\n[broken\naws_secret_access_key = {AWS_SECRET}\n")
        creds_env = {"HOME": str(home), "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
        run_cli(binary, "once", config=config, env=creds_env)
        run_cli(binary, "once", config=config, env={**creds_env, "AWS_PROFILE": "broken"})
    finally:
        receiver.stop()
        sim.stop()


def scan_text(source, text, hits):
    lines = text.splitlines()
    for line in lines:
        for name, secret in SECRETS.items():
            if secret in line:
                hits.append(f"{source}: {name}: {line[:300]}")
    return len(lines)


def scan_bytes(source, data, hits):
    for name, secret in SECRETS.items():
        if secret.encode("latin-1") in data:
            hits.append(f"{source}: {name} (binary file)")
    return data.count(b"\n") + 1


def test_no_secret_in_any_log_output_journal_entry_or_webhook(binary, journald, tmp_path, tmp_path_factory, figures):
    provoke(binary, tmp_path)
    hits = []
    counts = {"cli outputs": 0, "log files": 0, "databases": 0, "webhook requests": 0, "journal entries": 0}
    lines = 0
    for label, text in conftest.CAPTURED_OUTPUTS:
        lines += scan_text(label, text, hits)
        counts["cli outputs"] += 1
    base = tmp_path_factory.getbasetemp()
    for path in sorted(base.rglob("*.log")):
        if path.is_file():
            lines += scan_text(str(path.relative_to(base)), path.read_text(errors="replace"), hits)
            counts["log files"] += 1
    for pattern in ("*.db", "*.db-wal"):
        for path in sorted(base.rglob(pattern)):
            if path.is_file():
                lines += scan_bytes(str(path.relative_to(base)), path.read_bytes(), hits)
                counts["databases"] += 1
    for receiver in conftest.RECEIVERS:
        for request in list(receiver.requests):
            lines += scan_text("webhook body", request["body"].decode("utf-8", "replace"), hits)
            lines += scan_text("webhook headers", json.dumps(request["headers"]), hits)
            counts["webhook requests"] += 1
    out = subprocess.run(["journalctl", "-o", "json", "--no-pager", "--since", journal_since(),
                          "SYSLOG_IDENTIFIER=outpostwatch"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.splitlines():
        if line.strip():
            entry = json.loads(line)
            # MESSAGE and custom fields can be byte arrays when not UTF-8: scan their text too.
            flat = json.dumps(entry) + "".join(bytes(v).decode("utf-8", "replace")
                                               for v in entry.values() if isinstance(v, list)
                                               and all(isinstance(b, int) for b in v))
            lines += scan_text("journal", flat, hits)
            counts["journal entries"] += 1
    for what, n in counts.items():
        figures(f"secrets: {what} scanned", n, "")
    figures("secrets: lines scanned", lines, "lines")
    # The scan saw something of every kind (the provoking run above guarantees each).
    assert lines > 0
    for what, n in counts.items():
        assert n > 0, f"nothing scanned from {what}"
    # Operational logs reached the journal too (JOURNAL_STREAM), not only events.
    assert "keeping the running one" in out.stdout, "the daemon's operational logs did not reach journald"
    assert not hits, "secrets leaked:\n" + "\n".join(hits[:50])
