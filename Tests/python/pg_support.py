"""A real PostgreSQL server for the tests: `scripts/pg-test-server.sh` on a free loopback port in
a temporary directory, and the `postgres` fixture: a fresh server per test, copied from a cluster
initdb made once per session (`postgres_template`): a server starts in 0.4 to 1.2 s on a loaded
2-core machine (1.3 to 2.5 s with its own initdb, most of it initdb), stops in 0.2 s.

    def test_something(postgres):
        url = postgres.url()                      # postgresql://outpostwatch@127.0.0.1:PORT/outpostwatch?sslmode=disable
        pw = postgres.password_file(tmp / "pw")   # the role's password in a file (mode 600)
        rows = postgres.psql("SELECT holder FROM leader")   # as the superuser: [("host:123",)]
        postgres.restart()                        # pg_ctl restart -m fast, same port and data

The server listens on 127.0.0.1 only, every connection authenticates with scram-sha-256, and
fsync is on. `outpostwatch` (LOGIN, not superuser, password APP_PASSWORD) owns the database
`outpostwatch`; the superuser is `postgres` (SUPERUSER_PASSWORD).

Registered in conftest.py by importing the fixture from here (the import is at the end of
conftest.py, and this module imports conftest only inside functions, so either can be imported
first).
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "pg-test-server.sh"
APP_ROLE = "outpostwatch"
APP_DB = "outpostwatch"
APP_PASSWORD = "outpostwatch-test-pw"
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = os.environ.get("PG_TEST_SUPERUSER_PASSWORD", "postgres-test-superuser-pw")


def server_bindir():
    """Where initdb and pg_ctl are (pg_config's bindir, else the newest /usr/lib/postgresql/*/bin),
    or None."""
    if shutil.which("pg_config"):
        r = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if r.returncode == 0 and os.access(os.path.join(r.stdout.strip(), "initdb"), os.X_OK):
            return r.stdout.strip()
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                        key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()], reverse=True)
    for c in candidates:
        if os.access(c / "initdb", os.X_OK):
            return str(c)
    return None


def missing_components():
    """What the fixture needs and this machine lacks, as one sentence, or None."""
    if server_bindir() is None:
        return "the PostgreSQL server (initdb, pg_ctl: apt-get install postgresql, or make deps)"
    if not shutil.which("psql"):
        return "psql (the postgresql-client package)"
    user = _username()
    if user != "postgres":
        if os.geteuid() != 0:
            return "root or the postgres user (initdb refuses root; the script uses runuser as root)"
        if not shutil.which("runuser"):
            return "runuser (util-linux)"
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "the postgres system user (created by the postgresql package)"
    return None


def _username():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One server started by scripts/pg-test-server.sh. `port` may be given (e.g. a port a test
    first used as a closed one); otherwise a free loopback port is chosen, and another if it was
    taken meanwhile."""

    def __init__(self, port=None, base_dir=None, template=None):
        # Under /tmp (not pytest's tmp_path, which is closed to other users): the postgres user
        # must be able to reach the directory.
        self.dir = Path(tempfile.mkdtemp(prefix="outpostwatch-pg-", dir=base_dir or "/tmp"))
        self.template = template
        self.port = None
        self.started_seconds = None
        attempts = 1 if port else 3
        last = None
        for _ in range(attempts):
            candidate = port or _free_port()
            t0 = time.monotonic()
            r = self._script("start", str(self.dir), str(candidate), check=False)
            if r.returncode == 0:
                self.port = candidate
                self.started_seconds = time.monotonic() - t0
                break
            last = r
        if self.port is None:
            self._script("stop", str(self.dir), check=False)
            raise RuntimeError(f"pg-test-server.sh start failed ({last.returncode}):\n{last.stdout}{last.stderr}")

    # --- running the script and psql -------------------------------------------------------

    def _script(self, *args, check=True, timeout=120):
        env = dict(os.environ, PG_TEST_SUPERUSER_PASSWORD=SUPERUSER_PASSWORD)
        env.pop("PG_TEST_TEMPLATE", None)
        if self.template:
            env["PG_TEST_TEMPLATE"] = str(self.template)
        r = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"pg-test-server.sh {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r

    def url(self, db=APP_DB, user=APP_ROLE):
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}?sslmode=disable"

    def password_file(self, path, password=APP_PASSWORD):
        """Writes `password` (the outpostwatch role's by default) to `path`, mode 600, and
        returns the path."""
        path = Path(path)
        path.write_text(password + "\n")
        os.chmod(path, 0o600)
        return path

    def psql(self, sql, db=APP_DB, user=SUPERUSER, password=None, check=True, timeout=30):
        """Runs `sql` (one or more statements) through psql over loopback as the superuser (or
        `user` with `password`) and returns the rows of its results as tuples of strings (NULL
        is ''). A failure raises, with psql's message, unless check=False (then [] is returned
        and the message is in `self.last_error`)."""
        env = dict(os.environ, PGPASSWORD=password if password is not None else SUPERUSER_PASSWORD,
                   PGCONNECT_TIMEOUT="10", PGAPPNAME="pg_support")
        env.pop("PGSERVICE", None)
        # -q: no command tags, so every output line is one row (an empty line: one NULL or '').
        cmd = ["psql", "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
               "-U", user, "-d", db, "-c", sql]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        self.last_error = r.stderr.strip()
        if r.returncode != 0:
            if check:
                raise RuntimeError(f"psql failed ({r.returncode}) on {sql!r}: {r.stderr.strip()}")
            return []
        return [tuple(line.split("|")) for line in r.stdout.splitlines()]

    def scalar(self, sql, **kwargs):
        rows = self.psql(sql, **kwargs)
        return rows[0][0] if rows else None

    def create_database(self, name, owner=APP_ROLE):
        self.psql(f'CREATE DATABASE "{name}" OWNER "{owner}"', db="postgres")
        return name

    # --- lifecycle -------------------------------------------------------------------------

    def log(self):
        """The server log (DIR/log)."""
        try:
            return (self.dir / "log").read_text(errors="replace")
        except OSError:
            return ""

    def backend_pids(self):
        return [int(r[0]) for r in self.psql(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            db="postgres")]

    def restart(self):
        """pg_ctl restart -m fast: every session ends, the server comes back on the same port."""
        self._script("restart", str(self.dir))

    def stop(self):
        """Stops the server and removes its directory (idempotent)."""
        if self.dir.exists():
            self._script("stop", str(self.dir), check=False)
            if self.dir.exists():
                shutil.rmtree(self.dir, ignore_errors=True)


def make_template(base_dir=None):
    """An initdb'd cluster (not running) for PostgresServer(template=...) to copy; remove it
    with remove_template."""
    path = Path(tempfile.mkdtemp(prefix="outpostwatch-pg-template-", dir=base_dir or "/tmp"))
    env = dict(os.environ, PG_TEST_SUPERUSER_PASSWORD=SUPERUSER_PASSWORD)
    r = subprocess.run([str(SCRIPT), "init", str(path)], capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        remove_template(path)
        raise RuntimeError(f"pg-test-server.sh init failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return path


def remove_template(path):
    subprocess.run([str(SCRIPT), "stop", str(path)], capture_output=True, timeout=120)
    shutil.rmtree(path, ignore_errors=True)


def _need_postgres():
    from conftest import need
    need(SCRIPT.exists(), f"{SCRIPT}")
    missing = missing_components()
    need(missing is None, missing or "")


@pytest.fixture(scope="session")
def postgres_template():
    """One initdb per session, copied by every `postgres` server."""
    _need_postgres()
    path = make_template()
    try:
        yield path
    finally:
        remove_template(path)


@pytest.fixture
def postgres(postgres_template):
    """A fresh PostgreSQL server for one test, stopped and removed after it."""
    _need_postgres()
    server = PostgresServer(template=postgres_template)
    try:
        yield server
    finally:
        server.stop()
