"""Terminal behaviour, under a real pseudo-terminal: `once` shows progress (orders done / total)
on stderr only when stderr is a terminal; colour only on a terminal and never with NO_COLOR."""
import os
import pty
import re
import select
import subprocess

from conftest import ORDER_1, ORDER_2, daemon_env, write_config
from test_proxy import no_proxy_env

ESCAPE = re.compile(rb"\x1b\[")


def run_on_pty(args, env, timeout=120):
    """Runs `args` with stdout and stderr on a new pseudo-terminal; returns (status, bytes)."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    out = b""
    while True:
        ready, _, _ = select.select([controller], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError(f"no output for {timeout}s: {out[-500:]!r}")
        try:
            chunk = os.read(controller, 65536)
        except OSError:   # EIO: the other side is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(controller)
    return proc.wait(30), out


def test_once_shows_progress_on_a_terminal_only(binary, simulator, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", orders=[ORDER_1, ORDER_2])
    env = daemon_env(no_proxy_env())
    status, out = run_on_pty([binary, "once", "--config", str(config)], env)
    assert status == 0, out
    text = out.decode()
    assert "polled 0/2 orders" in text and "polled 2/2 orders" in text, text
    assert not ESCAPE.search(out), out
    # Piped: the same run prints the transitions and no progress.
    piped = subprocess.run([binary, "once", "--config", str(config)], capture_output=True, text=True, env=env)
    assert piped.returncode == 0
    assert "polled" not in piped.stdout + piped.stderr


def test_no_color_turns_colour_off(binary, tmp_path):
    env = daemon_env(no_proxy_env())
    env.pop("NO_COLOR", None)
    status, coloured = run_on_pty([binary, "demo", "--speed", "8"], env)
    assert status == 0, coloured[-2000:]
    assert ESCAPE.search(coloured), "demo on a terminal is expected to use colour"
    status, plain = run_on_pty([binary, "demo", "--speed", "8"], {**env, "NO_COLOR": "1"})
    assert status == 0, plain[-2000:]
    assert not ESCAPE.search(plain), plain[:2000]
    # Not a terminal: no colour either, NO_COLOR or not.
    piped = subprocess.run([binary, "demo", "--speed", "8"], capture_output=True, env=env, timeout=120)
    assert piped.returncode == 0 and not ESCAPE.search(piped.stdout + piped.stderr)
