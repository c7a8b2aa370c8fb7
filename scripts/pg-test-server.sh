#!/bin/sh
# A throwaway PostgreSQL server for the tests (Tests/python/pg_support.py), on loopback only.
#
#   scripts/pg-test-server.sh start DIR PORT   create DIR, initdb, start, role and database
#   scripts/pg-test-server.sh restart DIR      pg_ctl restart -m fast (same port, same data)
#   scripts/pg-test-server.sh stop DIR         pg_ctl stop -m fast, then remove DIR
#   scripts/pg-test-server.sh init DIR         only create DIR and initdb (a template, below)
#
# With PG_TEST_TEMPLATE=TDIR (a DIR made by `init`), start copies TDIR/data instead of running
# initdb: about 1 s less per server (the test fixture makes one template per session).
#
# DIR (owned by postgres, mode 700) holds the cluster in DIR/data, the server log DIR/log and the
# Unix socket (unix_socket_directories=DIR). The server listens on 127.0.0.1:PORT only, with
# scram-sha-256 for every connection (socket too) and fsync left on (the tests measure commit
# latency). The superuser is `postgres`, password $PG_TEST_SUPERUSER_PASSWORD (default below);
# the role `outpostwatch` (LOGIN, not superuser) has the password `outpostwatch-test-pw` and owns
# the database `outpostwatch`.
#
# Run as root (the server runs as postgres through runuser: initdb refuses root) or as postgres.
# Idempotent: start on a running server only makes sure of the role and database; stop on a
# missing DIR does nothing. Prints nothing on success but the port (start). On error: a message
# and the tail of the server log on stderr, exit 1.
set -eu

SUPERUSER_PASSWORD=${PG_TEST_SUPERUSER_PASSWORD:-postgres-test-superuser-pw}
APP_ROLE=outpostwatch
APP_PASSWORD=outpostwatch-test-pw
APP_DB=outpostwatch
MARKER=.pg-test-server

die() {
    echo "pg-test-server: $*" >&2
    if [ -n "${DIR:-}" ] && [ -f "$DIR/log" ]; then
        echo "--- last lines of $DIR/log ---" >&2
        tail -n 30 "$DIR/log" >&2 || true
    fi
    exit 1
}

usage() {
    echo "usage: $0 start DIR PORT | restart DIR | stop DIR | init DIR" >&2
    exit 64
}

# The server binaries: pg_config's bindir, else the newest /usr/lib/postgresql/*/bin.
bindir() {
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
    done
    die "no PostgreSQL server binaries (initdb): install the postgresql package (make deps)"
}

# Runs a command as postgres: through runuser when root, directly when already postgres.
as_pg() {
    case "$(id -un)" in
        postgres) "$@" ;;
        *)
            [ "$(id -u)" = 0 ] || die "run as root or as postgres (not $(id -un))"
            runuser -u postgres -- "$@" ;;
    esac
}

# psql as the superuser over the Unix socket in DIR.
su_psql() {
    (
        PGPASSWORD=$SUPERUSER_PASSWORD
        export PGPASSWORD
        as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres "$@"
    )
}

running() {
    [ -f "$DIR/data/PG_VERSION" ] && as_pg "$BIN/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1
}

cmd=${1:-}
[ $# -ge 2 ] || usage
DIR=$2
case "$DIR" in
    /*) ;;
    *) DIR=$(pwd)/$DIR ;;
esac
[ "$DIR" != / ] || die "refusing DIR /"

# DIR (made when missing, owned by postgres, mode 700) with a cluster in DIR/data: copied from
# $PG_TEST_TEMPLATE when set, else made by initdb.
make_cluster() {
    if [ ! -d "$DIR" ]; then
        mkdir -p "$DIR" || die "cannot create $DIR"
    fi
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$DIR"
    fi
    chmod 700 "$DIR"
    as_pg test -w "$DIR" -a -x "$DIR" ||
        die "the postgres user cannot write $DIR (is a parent directory closed to it?)"
    touch "$DIR/$MARKER"
    [ "$(id -u)" != 0 ] || chown postgres:postgres "$DIR/$MARKER"

    if [ ! -f "$DIR/data/PG_VERSION" ] && [ -n "${PG_TEST_TEMPLATE:-}" ]; then
        [ -f "$PG_TEST_TEMPLATE/data/PG_VERSION" ] || die "PG_TEST_TEMPLATE=$PG_TEST_TEMPLATE holds no cluster (make it with init)"
        rm -rf "$DIR/data"
        as_pg cp -a "$PG_TEST_TEMPLATE/data" "$DIR/data" || die "cannot copy $PG_TEST_TEMPLATE/data"
        rm -f "$DIR/data/postmaster.pid"
    fi
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        rm -rf "$DIR/data"
        pwfile="$DIR/superuser.pw"
        (umask 077; printf '%s\n' "$SUPERUSER_PASSWORD" >"$pwfile")
        [ "$(id -u)" != 0 ] || chown postgres:postgres "$pwfile"
        # --no-sync: only initdb's own files are not fsynced (a crash during setup is not a
        # concern); the running server keeps fsync = on.
        as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A scram-sha-256 --pwfile="$pwfile" \
            -E UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 || {
            rm -f "$pwfile"
            cat "$DIR/initdb.log" >&2
            die "initdb failed"
        }
        rm -f "$pwfile"
    fi
}

case "$cmd" in
init)
    [ $# -eq 2 ] || usage
    BIN=$(bindir)
    PG_TEST_TEMPLATE=
    make_cluster
    ;;

start)
    [ $# -eq 3 ] || usage
    PORT=$3
    case "$PORT" in ''|*[!0-9]*) die "PORT must be a number, not '$PORT'" ;; esac
    BIN=$(bindir)
    make_cluster

    # Our settings, rewritten at every start (the port may change between runs of a kept DIR).
    conf="$DIR/data/postgresql.conf"
    grep -q "^include_if_exists = 'outpostwatch-test.conf'" "$conf" ||
        echo "include_if_exists = 'outpostwatch-test.conf'" >>"$conf"
    as_pg sh -c "cat >'$DIR/data/outpostwatch-test.conf'" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
fsync = on
synchronous_commit = on
max_connections = 100
shared_buffers = 32MB
log_line_prefix = '%m [%p] %q%u@%d %a '
log_connections = on
log_disconnections = on
EOF

    if running; then
        live_port=$(sed -n 4p "$DIR/data/postmaster.pid" 2>/dev/null || true)
        [ -z "$live_port" ] || [ "$live_port" = "$PORT" ] ||
            die "already running in $DIR on port $live_port, not $PORT"
    else
        as_pg "$BIN/pg_ctl" start -D "$DIR/data" -l "$DIR/log" -w -t 60 -s >/dev/null 2>&1 ||
            die "pg_ctl start failed (port $PORT in use?)"
    fi
    tries=0
    until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres; do
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || die "the server on 127.0.0.1:$PORT is not ready after 30 s"
        sleep 0.1
    done

    su_psql -d postgres <<EOF || die "creating the role $APP_ROLE and the database $APP_DB failed"
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', '$APP_ROLE')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE') \\gexec
ALTER ROLE $APP_ROLE WITH LOGIN NOSUPERUSER PASSWORD '$APP_PASSWORD';
SELECT format('CREATE DATABASE %I OWNER %I', '$APP_DB', '$APP_ROLE')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$APP_DB') \\gexec
EOF
    echo "$PORT"
    ;;

restart)
    [ $# -eq 2 ] || usage
    BIN=$(bindir)
    [ -f "$DIR/data/PG_VERSION" ] || die "no server in $DIR (start it first)"
    PORT=$(sed -n 4p "$DIR/data/postmaster.pid" 2>/dev/null || sed -n "s/^port = //p" "$DIR/data/outpostwatch-test.conf")
    as_pg "$BIN/pg_ctl" restart -D "$DIR/data" -l "$DIR/log" -m fast -w -t 60 -s >/dev/null 2>&1 ||
        die "pg_ctl restart failed"
    tries=0
    until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres; do
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || die "the server on 127.0.0.1:$PORT is not ready after 30 s"
        sleep 0.1
    done
    ;;

stop)
    [ $# -eq 2 ] || usage
    [ -d "$DIR" ] || exit 0
    # Only a directory this script made (or an empty one) is removed.
    if [ ! -e "$DIR/$MARKER" ] && [ -n "$(ls -A "$DIR")" ]; then
        die "$DIR was not made by $0: not removing it"
    fi
    if [ -f "$DIR/data/PG_VERSION" ]; then
        BIN=$(bindir)
        if running; then
            as_pg "$BIN/pg_ctl" stop -D "$DIR/data" -m fast -w -t 60 -s >/dev/null 2>&1 ||
                die "pg_ctl stop failed"
        fi
    fi
    rm -rf "$DIR" || die "cannot remove $DIR"
    ;;

*)
    usage ;;
esac
