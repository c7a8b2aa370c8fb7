"""`outpostwatch assets` (docs/cli.md): every asset and MAC of the stored state, in each format, and
each DHCP format accepted by the real server's own configuration check (dnsmasq --test,
kea-dhcp4 -t, dhcpd -t)."""
import csv
import io
import json
import re
import shutil
import subprocess

import pytest

from conftest import ORDER_1, ORDER_2, Simulator, need, run_cli, write_config

LINE_1 = "ooi-0123456789abcdef1"
LINE_2 = "ooi-0123456789abcdef2"
LINE_3 = "ooi-0fedcba9876543211"

ASSETS_1 = [
    {"AssetId": "ASSET_01", "MacAddressList": ["0A-1B-2C-3D-4E-5F", "0a1b.2c3d.4e60"]},
    {"AssetId": "12345", "MacAddressList": ["AABBCCDDEE01"]},
]
ASSETS_2 = [
    {"AssetId": "asset-01", "MacAddressList": ["aa:bb:cc:dd:ee:02"]},   # the same host label as ASSET_01
    {"AssetId": "NOMAC", "MacAddressList": []},
]
ASSETS_3 = [
    {"AssetId": "OTHER", "MacAddressList": ["AA:BB:CC:DD:EE:03", "aa:bb:cc:dd:ee:01"]},   # ee:01 is taken
]

SCENARIO = {
    "orders": [
        {"OrderId": ORDER_1, "OutpostId": "op-0123456789abcdef0", "Status": "IN_PROGRESS", "OrderType": "OUTPOST",
         "LineItems": [{"LineItemId": LINE_1, "CatalogItemId": "OR-1", "Quantity": 1, "Status": "SHIPPED",
                        "AssetInformationList": ASSETS_1},
                       {"LineItemId": LINE_2, "CatalogItemId": "OR-1", "Quantity": 1, "Status": "BUILDING",
                        "AssetInformationList": ASSETS_2}]},
        {"OrderId": ORDER_2, "OutpostId": "op-0fedcba9876543210", "Status": "PREPARING", "OrderType": "OUTPOST",
         "LineItems": [{"LineItemId": LINE_3, "CatalogItemId": "OR-2", "Quantity": 1, "Status": "PREPARING",
                        "AssetInformationList": ASSETS_3}]},
    ],
    "timeline": [],
}

ALL_MACS = {"0a:1b:2c:3d:4e:5f", "0a:1b:2c:3d:4e:60", "aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02", "aa:bb:cc:dd:ee:03"}


@pytest.fixture
def config(binary, tmp_path):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    sim = Simulator(binary, speed=0, scenario=scenario)
    path = write_config(tmp_path / "c.toml", sim.url, tmp_path / "s.db", orders=[ORDER_1, ORDER_2], journald=False)
    run_cli(binary, "once", config=path, check=0)
    sim.stop()   # assets reads the stored state only
    yield path


def assets(binary, config, *args, check=0):
    return run_cli(binary, "assets", *args, config=config, check=check)


def test_table_and_json_list_every_asset(binary, config):
    rows = json.loads(assets(binary, config, "--format", "json").stdout)
    assert {r["mac_address"] for r in rows if r["mac_address"]} == ALL_MACS
    assert any(r["asset_id"] == "NOMAC" and r["mac_address"] is None for r in rows)
    assert all(re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", r["mac_address"]) for r in rows if r["mac_address"])
    names = [r["host_name"] for r in rows if r["host_name"]]
    assert len(names) == len(set(names)) == 5
    table = assets(binary, config).stdout
    assert table.splitlines()[0].split()[:3] == ["ORDER", "OUTPOST", "LINE"]
    assert "0a:1b:2c:3d:4e:5f" in table and "NOMAC" in table


def test_csv_header_and_one_row_per_mac(binary, config):
    out = assets(binary, config, "--format", "csv").stdout
    assert out.splitlines()[0] == "order_id,outpost_id,line_item_id,asset_id,mac_address,line_item_status"
    rows = list(csv.DictReader(io.StringIO(out)))
    # aa:bb:cc:dd:ee:01 is listed under two assets: both rows stay, only one reservation.
    assert sorted(r["mac_address"] for r in rows) == sorted([*ALL_MACS, "aa:bb:cc:dd:ee:01"])
    row = next(r for r in rows if r["mac_address"] == "0a:1b:2c:3d:4e:60")
    assert row == {"order_id": ORDER_1, "outpost_id": "op-0123456789abcdef0", "line_item_id": LINE_1,
                   "asset_id": "ASSET_01", "mac_address": "0a:1b:2c:3d:4e:60", "line_item_status": "SHIPPED"}


def test_order_filter_and_unknown_order(binary, config):
    rows = json.loads(assets(binary, config, ORDER_2, "--format", "json").stdout)
    assert {r["order_id"] for r in rows} == {ORDER_2}
    proc = assets(binary, config, "oo-00000000000000000", check=1)
    assert "unknown order oo-00000000000000000" in proc.stderr
    assert assets(binary, config, "--format", "yaml", check=64).returncode == 64


def reservations(binary, config, fmt):
    proc = assets(binary, config, "--format", fmt)
    assert "already reserved" in proc.stderr   # the duplicate MAC is said on stderr
    return proc.stdout


def test_ethers(binary, config):
    lines = [l for l in reservations(binary, config, "ethers").splitlines() if l and not l.startswith("#")]
    macs = [l.split()[0] for l in lines]
    assert sorted(macs) == sorted(ALL_MACS)
    names = [l.split()[1] for l in lines]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?", n) for n in names)


def test_dnsmasq_accepts_the_reservations(binary, config, tmp_path):
    need(shutil.which("dnsmasq") is not None, "dnsmasq (Debian dnsmasq-base; make deps)")
    conf = tmp_path / "assets.conf"
    conf.write_text(reservations(binary, config, "dnsmasq"))
    assert len(re.findall(r"^dhcp-host=", conf.read_text(), re.M)) == len(ALL_MACS)
    proc = subprocess.run(["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "syntax check OK" in proc.stdout + proc.stderr


def test_kea_accepts_the_reservations_in_a_subnet4(binary, config, tmp_path):
    kea = shutil.which("kea-dhcp4") or ("/usr/sbin/kea-dhcp4" if shutil.os.access("/usr/sbin/kea-dhcp4", shutil.os.X_OK) else None)
    need(kea is not None, "kea-dhcp4 (Debian kea-dhcp4-server; make deps)")
    fragment = json.loads(reservations(binary, config, "kea"))
    assert len(fragment["reservations"]) == len(ALL_MACS)
    conf = tmp_path / "kea-dhcp4.conf"
    conf.write_text(json.dumps({"Dhcp4": {
        "interfaces-config": {"interfaces": []},
        "lease-database": {"type": "memfile", "persist": False},
        "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "reservations": fragment["reservations"]}],
    }}))
    proc = subprocess.run([kea, "-t", str(conf)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_isc_dhcpd_accepts_the_host_blocks(binary, config, tmp_path):
    dhcpd = shutil.which("dhcpd") or ("/usr/sbin/dhcpd" if shutil.os.access("/usr/sbin/dhcpd", shutil.os.X_OK) else None)
    need(dhcpd is not None, "dhcpd (Debian isc-dhcp-server; make deps)")
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(reservations(binary, config, "isc-dhcp"))
    assert len(re.findall(r"^host ", conf.read_text(), re.M)) == len(ALL_MACS)
    proc = subprocess.run([dhcpd, "-t", "-cf", str(conf)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
