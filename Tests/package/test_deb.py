"""The .deb of `make deb`, from outside: what dpkg and lintian say about it, what it installs,
and that the binary it ships runs without the Swift toolchain. `make test-deb` runs these with
OUTPOSTWATCH_DEB set; `make install PREFIX=...` is checked here too (same files, other place)."""
import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import sys

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests/python"))
from conftest import need  # noqa: E402  (skips, or fails under CI=true, when a component is missing)

UNIT = "usr/lib/systemd/system/outpostwatch.service"


def run(*cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, check=True, **kwargs).stdout


@pytest.fixture(scope="session")
def deb():
    path = os.environ.get("OUTPOSTWATCH_DEB", "")
    need(path and os.path.isfile(path), f"the package ({path or 'OUTPOSTWATCH_DEB unset'}; run make deb)")
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def tree(deb, tmp_path_factory):
    root = tmp_path_factory.mktemp("deb-root")
    run("dpkg-deb", "-x", deb, str(root))
    return root


def field(deb, name):
    return run("dpkg-deb", "-f", deb, name).strip()


def test_name_version_and_architecture(deb, tree):
    version = run(str(tree / "usr/bin/outpostwatch"), "--version").strip()
    arch = run("dpkg", "--print-architecture").strip()
    assert os.path.basename(deb) == f"outpostwatch_{version}_{arch}.deb"
    assert field(deb, "Package") == "outpostwatch"
    assert field(deb, "Version") == version
    assert field(deb, "Architecture") == arch


def test_depends_come_from_the_binary_libraries(deb, tree):
    depends = field(deb, "Depends")
    names = {re.split(r"[ (]", part.strip())[0] for part in depends.split(",")}
    # What the binary links dynamically: glibc, SQLite, libsystemd, libstdc++/libgcc, zlib.
    for package in ("libc6", "libsqlite3-0", "libsystemd0", "libstdc++6", "zlib1g"):
        assert package in names, depends
    assert not any("swift" in name for name in names), depends
    # Every shared library the binary itself needs (NEEDED) comes from a package named in Depends.
    binary = str(tree / "usr/bin/outpostwatch")
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", binary))
    resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", run("ldd", binary), re.M))
    assert needed
    for soname in needed:
        if soname.startswith("ld-linux"):
            continue
        owner = package_of(resolved[soname])
        assert owner in names, f"{soname} comes from {owner}, not in Depends: {depends}"


def package_of(library):
    """The package that ships a library, whichever of its names (merged /usr) dpkg knows."""
    real = os.path.realpath(library)
    candidates = {library, real}
    candidates |= {c.replace("/usr/lib/", "/lib/", 1) for c in candidates if c.startswith("/usr/lib/")}
    candidates |= {c.replace("/lib/", "/usr/lib/", 1) for c in candidates if c.startswith("/lib/")}
    for candidate in sorted(candidates):
        proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout.split(":")[0]
    pytest.fail(f"no package ships {library}")


def test_the_binary_carries_its_swift_runtime(tree):
    binary = tree / "usr/bin/outpostwatch"
    libraries = run("ldd", str(binary))
    assert not re.search(r"libswift|libFoundation|libdispatch|libBlocksRuntime", libraries), libraries
    # It runs, from a place where no Swift toolchain is on the library path.
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": ""}
    assert "check-config" in run(str(binary), "--help", env=env)
    assert run(str(binary), "--version", env=env).strip()


def test_contents_and_modes(deb):
    listing = {}
    for line in run("dpkg-deb", "-c", deb).splitlines():
        parts = line.split()
        mode, owner, path = parts[0], parts[1], parts[5].lstrip(".")
        listing[path] = (mode, owner)
    expected = {
        "/usr/bin/outpostwatch": "-rwxr-xr-x",
        "/" + UNIT: "-rw-r--r--",
        "/usr/lib/systemd/catalog/outpostwatch.catalog": "-rw-r--r--",
        "/etc/outpostwatch/config.toml": "-rw-r--r--",
        "/usr/share/man/man1/outpostwatch.1.gz": "-rw-r--r--",
        "/usr/share/bash-completion/completions/outpostwatch": "-rw-r--r--",
        "/usr/share/zsh/vendor-completions/_outpostwatch": "-rw-r--r--",
        "/usr/share/fish/vendor_completions.d/outpostwatch.fish": "-rw-r--r--",
        "/usr/share/doc/outpostwatch/copyright": "-rw-r--r--",
        "/usr/share/doc/outpostwatch/changelog.gz": "-rw-r--r--",
    }
    for path, mode in expected.items():
        assert path in listing, f"{path} not in the package"
        assert listing[path] == (mode, "root/root"), (path, listing[path])


def test_conffile_and_maintainer_scripts(deb, tmp_path):
    run("dpkg-deb", "-e", deb, str(tmp_path))
    assert (tmp_path / "conffiles").read_text().split() == ["/etc/outpostwatch/config.toml"]
    postinst = (tmp_path / "postinst").read_text()
    assert "daemon-reload" in postinst and "--update-catalog" in postinst
    for script in ("postinst", "prerm", "postrm"):
        text = (tmp_path / script).read_text()
        # The operator enables and starts the service, never the package.
        assert not re.search(r"(systemctl|deb-systemd-invoke)[^\n]*\b(enable|start|restart)\b", text), script
        assert not re.search(r"deb-systemd-helper[^\n]*\b(enable|unmask)\b", text), script


def test_unit_points_at_the_packaged_binary(tree):
    unit = (tree / UNIT).read_text()
    assert re.search(r"^ExecStart=/usr/bin/outpostwatch run ", unit, re.M), unit


def test_man_page_documents_every_command(tree):
    need(shutil.which("man"), "man (apt-get install man-db)")
    text = run("man", "-l", "-Tutf8", str(tree / "usr/share/man/man1/outpostwatch.1.gz"),
               env={**os.environ, "MANWIDTH": "100"})
    text = re.sub(".\b", "", text)  # overstrike bold/underline
    assert "NAME" in text and "outpostwatch" in text
    for command in ("run", "once", "check-config", "status", "history", "deliveries", "redeliver",
                    "test-sink", "simulate", "demo"):
        assert re.search(rf"^\s+{re.escape(command)}\b", text, re.M), f"man page lacks {command}"
    with gzip.open(tree / "usr/share/man/man1/outpostwatch.1.gz") as f:
        assert f.read().startswith(b'.\\" "Generated by swift-argument-parser"')


def test_completions_know_the_commands(tree):
    bash = tree / "usr/share/bash-completion/completions/outpostwatch"
    subprocess.run(["bash", "-n", str(bash)], check=True)
    for path in (bash, tree / "usr/share/zsh/vendor-completions/_outpostwatch",
                 tree / "usr/share/fish/vendor_completions.d/outpostwatch.fish"):
        text = path.read_text()
        assert "check-config" in text and "redeliver" in text, path
    # bash: completing `outpostwatch che` offers check-config, through the shipped script.
    script = f"source {bash}; COMP_WORDS=(outpostwatch che); COMP_CWORD=1; COMP_LINE='outpostwatch che'; " \
             f"COMP_POINT=${{#COMP_LINE}}; _outpostwatch; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                         env={"PATH": f"{tree}/usr/bin:/usr/bin:/bin"})
    assert "check-config" in out.stdout.split(), out.stdout + out.stderr


def test_lintian_reports_no_error(deb):
    need(shutil.which("lintian"), "lintian (make deps)")
    proc = subprocess.run(["lintian", "--tag-display-limit", "0", deb], capture_output=True, text=True)
    print(proc.stdout + proc.stderr)
    errors = [line for line in proc.stdout.splitlines() if line.startswith("E:")]
    assert not errors, "\n".join(errors)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The one override is the zlib copy swift-nio-extras compiles in (packaging/deb/lintian-overrides).
    shown = subprocess.run(["lintian", "--show-overrides", deb], capture_output=True, text=True).stdout
    overridden = [line for line in shown.splitlines() if line.startswith("O:")]
    assert overridden and all("embedded-library zlib" in line for line in overridden), shown


def test_make_install_points_execstart_at_prefix(tree, tmp_path):
    dest = tmp_path / "dest"
    subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "install", "PREFIX=/opt/ow",
                    f"DESTDIR={dest}", f"INSTALL_BIN={tree / 'usr/bin/outpostwatch'}"],
                   check=True, capture_output=True, text=True)
    assert os.access(dest / "opt/ow/bin/outpostwatch", os.X_OK)
    unit = (dest / UNIT).read_text()
    assert re.search(r"^ExecStart=/opt/ow/bin/outpostwatch run ", unit, re.M), unit
    # Everything else in the unit is the packaged one.
    packaged = (tree / UNIT).read_text()
    assert unit.replace("/opt/ow/bin/", "/usr/bin/") == packaged
