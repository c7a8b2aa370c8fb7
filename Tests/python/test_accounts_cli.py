"""Accounts where operators look (docs/cli.md, docs/events.md): `status` and `history` with
`--account`, their JSON rows, the status table's ACCOUNT column, the detail view, and the
`[name]` of the one-line sentences. Two accounts polled through the real binary against the real
simulator."""
import json
from pathlib import Path

from conftest import ORDER_1, ORDER_2, run_cli


def two_account_config(path, simulator_url, store):
    """`[aws]` is the account default (us-west-2, ORDER_1); `[[account]] lab` (eu-west-1, ORDER_2)."""
    text = f"""
[aws]
region = "us-west-2"
endpoint = "{simulator_url}"

[[account]]
name = "lab"
region = "eu-west-1"
endpoint = "{simulator_url}"

[poll]
interval = "1s"
jitter = 0.0
terminal_interval = "1s"
request_timeout = "2s"

[storage]
path = "{store}"

[journald]
enabled = false

[[order]]
id = "{ORDER_1}"
label = "rack 1"
account = "default"

[[order]]
id = "{ORDER_2}"
label = "rack 2"
account = "lab"
"""
    Path(path).write_text(text)
    return path


def test_status_and_history_by_account(binary, simulator, tmp_path):
    config = two_account_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db")
    run_cli(binary, "once", config=config, check=0)

    rows = json.loads(run_cli(binary, "status", "--json", config=config, check=0).stdout)
    by_id = {r["order_id"]: r for r in rows}
    assert by_id[ORDER_1]["account"] == "default" and by_id[ORDER_1]["region"] == "us-west-2"
    assert by_id[ORDER_2]["account"] == "lab" and by_id[ORDER_2]["region"] == "eu-west-1"
    for r in rows:
        assert "quote_id" in r and "quote_option_id" in r

    lab = json.loads(run_cli(binary, "status", "--account", "lab", "--json", config=config, check=0).stdout)
    assert [r["order_id"] for r in lab] == [ORDER_2]

    # The table names the accounts only when there is more than one to tell apart.
    table = run_cli(binary, "status", config=config, check=0).stdout
    assert table.splitlines()[0].split()[:4] == ["ORDER", "LABEL", "ACCOUNT", "STATUS"]
    one = run_cli(binary, "status", "--account", "lab", config=config, check=0).stdout
    assert "ACCOUNT" not in one.splitlines()[0] and ORDER_2 in one and ORDER_1 not in one

    detail = run_cli(binary, "status", ORDER_2, config=config, check=0).stdout
    assert any(line.startswith("Account:") and line.endswith("lab (eu-west-1)") for line in detail.splitlines())
    single = json.loads(run_cli(binary, "status", ORDER_2, "--json", config=config, check=0).stdout)
    assert single["order_id"] == ORDER_2 and single["account"] == "lab"
    # The order exists, but not in that account.
    assert run_cli(binary, "status", ORDER_2, "--account", "default", config=config).returncode == 1

    events = json.loads(run_cli(binary, "history", "--json", config=config, check=0).stdout)
    assert {(e["order"]["id"], e["order"]["account"], e["order"]["region"]) for e in events} == {
        (ORDER_1, "default", "us-west-2"), (ORDER_2, "lab", "eu-west-1")}
    lab_events = json.loads(run_cli(binary, "history", "--account", "lab", "--json", config=config, check=0).stdout)
    assert lab_events and {e["order"]["id"] for e in lab_events} == {ORDER_2}

    # The sentence names an account other than default.
    text = run_cli(binary, "history", config=config, check=0).stdout.splitlines()
    assert any(ORDER_2 in line and "[lab] Order " + ORDER_2 in line for line in text)
    assert any(ORDER_1 in line and "Order " + ORDER_1 in line and "[default]" not in line for line in text)


def test_unknown_account_is_a_usage_error(binary, simulator, tmp_path):
    config = two_account_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db")
    run_cli(binary, "once", config=config, check=0)
    for command in (["status"], ["history"], ["status", "--json"]):
        proc = run_cli(binary, *command, "--account", "prdo", config=config)
        assert proc.returncode == 64, proc.stderr
        assert "no account named prdo" in proc.stderr and "default, lab" in proc.stderr
        assert proc.stdout == ""


def test_known_account_without_orders_prints_nothing_matching(binary, simulator, tmp_path):
    config = two_account_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db")
    # Before any poll the store has no orders: lab is known from the config alone.
    run_cli(binary, "once", config=config, check=0)
    text = Path(config).read_text().replace(f'id = "{ORDER_2}"\nlabel = "rack 2"\naccount = "lab"', f'id = "{ORDER_2}"\nlabel = "rack 2"\naccount = "default"')
    text = text.replace('[[account]]\nname = "lab"', '[[account]]\nname = "spare"')
    Path(config).write_text(text)
    run_cli(binary, "once", config=config, check=0)
    proc = run_cli(binary, "status", "--account", "spare", config=config, check=0)
    assert proc.stdout.strip() == "no watched orders in account spare"
    assert json.loads(run_cli(binary, "history", "--account", "spare", "--json", config=config, check=0).stdout) == []
