#!/usr/bin/env bash
# Boots a Debian container with systemd as PID 1 (systemd-nspawn), installs outpostwatch into
# it and checks the service under the real service manager: readiness, sandbox, watchdog,
# restart policy, reload, stop, credentials, journal and catalog, exposure score.
#
# Usage (as root):
#   scripts/systemd-test.sh --deb PATH       the real daemon as users get it: the package of
#                                            `make deb`, installed inside the booted container
#                                            with `apt-get install ./outpostwatch_…deb`
#   scripts/systemd-test.sh --standin        a small C stand-in (scripts/systemd-test/standin.c)
#                                            that only speaks the systemd protocol; checks that
#                                            need the real daemon are skipped
#   --unit FILE                              with --standin: install and score FILE instead of
#                                            systemd/outpostwatch.service (to see checks fail on
#                                            a weakened unit)
#   --rebuild-rootfs                         throw the cached rootfs away first
#   --keep-going                             (default) run every check even after a failure
#
# Prints `PASS name`, `FAIL name: reason` or `SKIP name: reason` per check and exits 1 when
# any check failed (a SKIP is a FAIL when CI=true). The container, its cgroups and every mount
# are gone when the script ends, however it ends. The pristine rootfs is cached in
# .build-systemd/rootfs (debootstrap, about a minute); each run boots an overlay of it, so
# nothing a run installs or writes survives into the next. The rootfs comes from the first
# mirror of the machine's own apt sources; with none configured the script stops and says so.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HELPERS=$REPO/scripts/systemd-test
CACHE=$REPO/.build-systemd
ROOTFS=$CACHE/rootfs
# Packages beyond minbase: systemd as PID 1, dbus for systemctl, libsqlite3 for the daemon,
# procps for the unit's ExecReload=/bin/kill (Priority: important, so on every real server).
ROOTFS_PACKAGES=systemd,dbus,procps,libsqlite3-0
SUITE=bookworm
UNIT=outpostwatch.service
MAX_EXPOSURE=1.2
STANDIN_READY_DELAY_MS=1500   # must match standin_ready_delay_ms in scripts/systemd-test/config.toml
STOP_DEADLINE_S=5             # SPEC section 7: exits within 5 s of SIGTERM
# The test's webhook secret: base64 of "systemd-test-webhook-secret" (a Standard Webhooks key).
WEBHOOK_SECRET=whsec_c3lzdGVtZC10ZXN0LXdlYmhvb2stc2VjcmV0

MODE=
DEB=
UNIT_FILE=$REPO/systemd/outpostwatch.service
REBUILD_ROOTFS=no
while [ $# -gt 0 ]; do
    case $1 in
        --standin) MODE=standin ;;
        --deb) MODE=real; DEB=$(realpath "$2"); shift ;;
        --deb=*) MODE=real; DEB=$(realpath "${1#--deb=}") ;;
        --unit) UNIT_FILE=$(realpath "$2"); shift ;;
        --rebuild-rootfs) REBUILD_ROOTFS=yes ;;
        --keep-going) ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "systemd-test: unknown argument $1" >&2; exit 64 ;;
    esac
    shift
done

[ -n "$MODE" ] || { echo "systemd-test: give --deb PATH or --standin" >&2; exit 64; }
[ "$MODE" = standin ] || [ -f "$DEB" ] || { echo "systemd-test: no package at $DEB (make deb)" >&2; exit 64; }
# Where the package (and the unit's ExecStart) puts the binary.
BIN=/usr/bin/outpostwatch

START_NS=$(date +%s%N)
NAME=owtest-$$
RUN=$CACHE/run-$$            # this run's overlay layers and logs, removed at exit
LEADER=                      # the container's PID 1, seen from the host
BOOT_PID=                    # the background shell that became unshare → nspawn
ROOTFS_CREATED_S=
BOOT_S=
OFFLINE_SCORE=
ONLINE_SCORE=
PASSES=0 FAILS=0 SKIPS=0
FAILED_NAMES=()

# Logs go to the script's original stderr (fd 3), also from a trap that fires while a
# command's stderr is redirected to /dev/null.
exec 3>&2
log() { printf '%s\n' "systemd-test: $*" >&3; }
die() { log "$*"; exit 1; }
elapsed_s() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

# ---------------------------------------------------------------------------------------------
# Cleanup: always runs (EXIT trap). Order: power the container off, wait for nspawn, kill what
# is left in our cgroups, remove the cgroups deepest first, then the run folder. Mounts (tmpfs
# /run, the overlay root) live only in the private mount namespace of unshare, so they vanish
# with it; the last step checks that none leaked into the host's mount table.
# ---------------------------------------------------------------------------------------------
CLEANED=no
cleanup() {
    local status=$?
    set +e
    [ "$CLEANED" = no ] || exit "$status"
    CLEANED=yes
    [ "$status" = 0 ] || log "cleaning up after exit status $status"
    if [ -n "$LEADER" ] && kill -0 "$LEADER" 2>/dev/null; then
        # The whole journal of the run, for a post-mortem of a failed check.
        timeout 10 nsenter -t "$LEADER" -a journalctl --no-pager -o short-monotonic \
            > "$CACHE/last-run.journal" 2>&1 && log "container journal saved in $CACHE/last-run.journal"
        timeout 10 nsenter -t "$LEADER" -a systemctl poweroff --no-block >/dev/null 2>&1 \
            || kill -s RTMIN+4 "$LEADER" 2>/dev/null   # systemd's own "power off" signal
    fi
    if [ -n "$BOOT_PID" ]; then
        local waited=0
        while kill -0 "$BOOT_PID" 2>/dev/null && [ $waited -lt 150 ]; do sleep 0.1; waited=$((waited + 1)); done
        if kill -0 "$BOOT_PID" 2>/dev/null; then
            log "container did not power off in 15 s; killing it"
            kill -KILL "$BOOT_PID" 2>/dev/null
        fi
        wait "$BOOT_PID" 2>/dev/null
    fi
    local h dir
    for h in unified systemd; do
        dir=/sys/fs/cgroup/$h/$NAME
        [ -d "$dir" ] || continue
        [ -e "$dir/cgroup.kill" ] && echo 1 > "$dir/cgroup.kill" 2>/dev/null
        local pids
        pids=$(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null)
        # shellcheck disable=SC2086  # one pid per word
        [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
        local tries=0
        while [ -d "$dir" ] && [ $tries -lt 50 ]; do
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$dir" ] && sleep 0.1
            tries=$((tries + 1))
        done
        [ -d "$dir" ] && log "could not remove cgroup $dir"
    done
    if grep -q " $RUN/" /proc/self/mountinfo; then
        log "mounts under $RUN leaked into the host; unmounting"
        grep " $RUN/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
    fi
    rm -rf "$RUN"
    exit "$status"
}
# A signal is handled by the main shell (a subshell that catches one hands it over), which
# exits through cleanup.
on_signal() {
    if [ "$BASHPID" != "$$" ]; then kill -s "$1" $$; exit "$2"; fi
    exit "$2"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# ---------------------------------------------------------------------------------------------
# Prerequisites and the cached rootfs
# ---------------------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (systemd-nspawn, cgroups, mounts)"

ensure_host_tools() {
    local missing=()
    command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if [ "$MODE" = standin ]; then
        command -v gcc >/dev/null || missing+=(gcc)
        pkg-config --exists libsystemd 2>/dev/null || missing+=(libsystemd-dev pkg-config)
    fi
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    # --no-install-recommends: the recommended libnss-mymachines would edit the host's
    # /etc/nsswitch.conf.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
}

# The first Debian mirror of this machine's apt sources (deb822 .sources files, then one-line
# .list files). No fallback host: a test that quietly fetched from elsewhere would not be
# testing what this machine can install.
apt_mirror() {
    local mirror
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { print $i; exit } }' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    [ -n "$mirror" ] || die "no apt source configured on this machine (/etc/apt/sources.list, \
/etc/apt/sources.list.d/): the container's Debian comes from the same mirror as the host's packages"
    echo "$mirror"
}

ensure_rootfs() {
    local stamp="$SUITE minbase $ROOTFS_PACKAGES"
    if [ "$REBUILD_ROOTFS" = yes ] || [ "$(cat "$ROOTFS.stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$ROOTFS" "$ROOTFS.stamp"
    fi
    [ -x "$ROOTFS/lib/systemd/systemd" ] && return 0
    local mirror started
    mirror=$(apt_mirror) || exit 1
    started=$(date +%s%N)
    log "creating the rootfs with debootstrap ($SUITE, $mirror); about a minute"
    rm -rf "$ROOTFS.tmp"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" "$SUITE" "$ROOTFS.tmp" "$mirror" \
        > "$CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    # Trim what a test never reads: downloaded .debs, apt lists, docs.
    rm -rf "$ROOTFS.tmp"/var/cache/apt/archives/*.deb "$ROOTFS.tmp"/var/lib/apt/lists/* \
           "$ROOTFS.tmp"/usr/share/doc/* "$ROOTFS.tmp"/usr/share/man/*
    # A fixed machine id would make every boot the same machine; an empty file lets systemd
    # generate a transient one per boot.
    : > "$ROOTFS.tmp/etc/machine-id"
    mv "$ROOTFS.tmp" "$ROOTFS"
    echo "$stamp" > "$ROOTFS.stamp"
    ROOTFS_CREATED_S=$(elapsed_s "$started")
    log "rootfs created in ${ROOTFS_CREATED_S} s"
}

# ---------------------------------------------------------------------------------------------
# Installation into this run's upper layer ($RUN/upper becomes the overlay's writable layer,
# so the cached rootfs stays pristine)
# ---------------------------------------------------------------------------------------------
install_project() {
    local dest=$RUN/upper
    mkdir -p "$dest"
    if [ "$MODE" = standin ]; then
        # The stand-in is not what `make install` ships; install what it would, by hand:
        # binary, unit, a stand-in catalog.
        local bin=$CACHE/standin
        # shellcheck disable=SC2046  # pkg-config prints several flags
        gcc -O2 -Wall -Wextra -o "$bin" "$HELPERS/standin.c" $(pkg-config --cflags --libs libsystemd) \
            || die "cannot compile the stand-in"
        install -D -m 0755 "$bin" "$dest$BIN"
        install -D -m 0644 "$UNIT_FILE" "$dest/usr/lib/systemd/system/$UNIT"
        install -D -m 0644 "$HELPERS/standin.catalog" "$dest/usr/lib/systemd/catalog/outpostwatch.catalog"
    else
        # The package itself is installed once the container runs (install_package), so its
        # maintainer scripts meet a real systemd.
        install -D -m 0644 "$DEB" "$dest/usr/local/share/systemd-test/outpostwatch.deb"
    fi
    # The test's own configuration (0644: the transient uid must read it) and timers drop-in.
    [ "$MODE" = real ] || install -D -m 0644 "$HELPERS/config.toml" "$dest/etc/outpostwatch/config.toml"
    install -D -m 0644 "$HELPERS/broken.toml" "$dest/usr/local/share/systemd-test/broken.toml"
    install -D -m 0644 "$HELPERS/config.toml" "$dest/usr/local/share/systemd-test/config.toml"
    install -D -m 0644 "$HELPERS/50-systemd-test.conf" "$dest/etc/systemd/system/$UNIT.d/50-systemd-test.conf"
    install -D -m 0644 "$HELPERS/60-credentials.conf" "$dest/etc/systemd/system/$UNIT.d/60-credentials.conf"
    # The loopback webhook receiver, socket-activated at boot.
    install -D -m 0755 "$HELPERS/receiver.sh" "$dest/usr/local/lib/systemd-test/receiver.sh"
    install -D -m 0644 "$HELPERS/owtest-receiver.socket" "$dest/etc/systemd/system/owtest-receiver.socket"
    install -D -m 0644 "$HELPERS/owtest-receiver@.service" "$dest/etc/systemd/system/owtest-receiver@.service"
    mkdir -p "$dest/etc/systemd/system/sockets.target.wants"
    ln -sf /etc/systemd/system/owtest-receiver.socket "$dest/etc/systemd/system/sockets.target.wants/"
    # Fake credentials, root-only on "disk": LoadCredential= must make them readable anyway.
    mkdir -p "$dest/etc/outpostwatch/credentials"
    printf 'AKIDSYSTEMDTEST00001' > "$dest/etc/outpostwatch/credentials/aws-access-key-id"
    printf 'systemd-test-secret-access-key-do-not-log' > "$dest/etc/outpostwatch/credentials/aws-secret-access-key"
    printf '%s' "$WEBHOOK_SECRET" > "$dest/etc/outpostwatch/credentials/webhook-ops"
    chmod 0700 "$dest/etc/outpostwatch/credentials"
    chmod 0600 "$dest/etc/outpostwatch/credentials"/*
}

# ---------------------------------------------------------------------------------------------
# Boot (FACTS.md "A real systemd, booted in a container"): a cgroup of our own in both
# hierarchies, a private mount namespace with a tmpfs /run and the overlay root, then nspawn.
# ---------------------------------------------------------------------------------------------
boot_container() {
    mkdir -p "$RUN/upper" "$RUN/work" "$RUN/root"
    local started
    started=$(date +%s%N)
    "$HELPERS/boot.sh" outer "$NAME" "$ROOTFS" "$RUN" > "$RUN/console.log" 2>&1 < /dev/null &
    BOOT_PID=$!

    # The container's PID 1 is the child of nspawn named systemd.
    local nspawn='' deadline=$((SECONDS + 20))
    while [ -z "$LEADER" ]; do
        kill -0 "$BOOT_PID" 2>/dev/null || { tail -20 "$RUN/console.log" >&2; die "nspawn exited during boot"; }
        [ $SECONDS -lt $deadline ] || die "no container PID 1 after 20 s"
        # boot.sh outer execs unshare, whose forked child execs nspawn
        [ -n "$nspawn" ] || nspawn=$(pgrep -P "$BOOT_PID" -x systemd-nspawn | head -1 || true)
        [ -n "$nspawn" ] && LEADER=$(pgrep -P "$nspawn" -x systemd | head -1 || true)
        [ -n "$LEADER" ] || sleep 0.05
    done
    # systemctl fails (empty answer) until PID 1 has opened its private socket; then it says
    # initializing/starting until the boot is over.
    local state=
    deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
        state=$(nsenter -t "$LEADER" -a systemctl is-system-running 2>/dev/null || true)
        case $state in running|degraded|maintenance|stopping) break ;; esac
        kill -0 "$BOOT_PID" 2>/dev/null || break
        sleep 0.05
    done
    case $state in
        running|degraded) ;;
        *) tail -30 "$RUN/console.log" >&2; die "container did not boot (state '$state')" ;;
    esac
    BOOT_S=$(elapsed_s "$started")
    log "container $NAME booted ($state) in ${BOOT_S} s, PID 1 = $LEADER"
    if [ "$state" = degraded ]; then
        log "failed units: $(cin systemctl list-units --failed --no-legend --plain | awk '{print $1}' | xargs)"
    fi
}

# ---------------------------------------------------------------------------------------------
# Helpers for checks
# ---------------------------------------------------------------------------------------------
cin() { nsenter -t "$LEADER" -a "$@"; }                # run a command inside the container
prop() { cin systemctl show -P "$1" "$UNIT"; }         # one property of the unit
main_pid() { prop MainPID; }

# Waits (polling every 50 ms) until "$@" succeeds, at most $1 seconds.
wait_until() {
    local limit=$1; shift
    local deadline=$(( $(date +%s%N) + limit * 1000000000 ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s%N)" -lt $deadline ] || return 1
        sleep 0.05
    done
}

unit_is() { [ "$(prop ActiveState)/$(prop SubState)" = "$1" ]; }

# Writes stdin to a file inside the container (the overlay is only visible in there).
container_write() { cin sh -c 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"' sh "$1" "${2:-0644}"; }

# Journal lines of the unit since the cursor in $1 (take one with journal_cursor).
journal_cursor() { cin journalctl -n 0 --show-cursor --no-pager 2>/dev/null | sed -n 's/^-- cursor: //p'; }
unit_journal_since() { cin journalctl --no-pager -o cat -u "$UNIT" --after-cursor="$1" "${@:2}"; }
manager_journal_since() { cin journalctl --no-pager -o cat _PID=1 --after-cursor="$1"; }

status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# /proc of the container is the host's /proc with other pid numbers; map through NSpid.
host_pid_of() {
    local inner=$1 p
    for p in /proc/[0-9]*; do
        [ "$(awk '$1 == "NSpid:" { print $NF }' "$p/status" 2>/dev/null)" = "$inner" ] || continue
        # the same inner pid number can exist in other pid namespaces: require our container
        [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$(readlink "/proc/$LEADER/ns/pid")" ] && { echo "${p#/proc/}"; return 0; }
    done
    return 1
}

# Runs a command inside the container as the running service's uid/gid, with its state and
# credentials directories: what an operator gets with `systemd-run -p DynamicUser=yes`, minus
# the hazard (another transient uid would get StateDirectory= chowned away from the daemon).
as_service() {
    # Inside the service's own namespaces (mount: its StateDirectory and credentials are where it
    # sees them; user: PrivateUsers maps its uid), as its uid: what the daemon itself could do.
    local pid uid gid
    pid=$(host_pid_of "$(main_pid)") || return 1
    uid=$(status_field "$pid" Uid); gid=$(status_field "$pid" Gid)
    # --keep-groups: PrivateUsers denies setgroups() in the service's user namespace.
    nsenter -t "$pid" -a setpriv --reuid="$uid" --regid="$gid" --keep-groups \
        env -i PATH=/usr/local/bin:/usr/bin:/bin STATE_DIRECTORY=/var/lib/outpostwatch \
        CREDENTIALS_DIRECTORY="/run/credentials/$UNIT" "$@"
}

REASON=
fail() { REASON="$*"; return 1; }
skip() { REASON="$*"; return 2; }

run_check() {
    local name=$1 rc=0
    REASON=
    "check_${name//[.-]/_}" || rc=$?
    case $rc in
        0) echo "PASS $name"; PASSES=$((PASSES + 1)) ;;
        2) if [ "${CI:-}" = true ]; then
               echo "FAIL $name: skipped under CI=true: $REASON"; FAILS=$((FAILS + 1)); FAILED_NAMES+=("$name")
           else
               echo "SKIP $name: $REASON"; SKIPS=$((SKIPS + 1))
           fi ;;
        *) echo "FAIL $name: ${REASON:-exit status $rc}"; FAILS=$((FAILS + 1)); FAILED_NAMES+=("$name") ;;
    esac
}

exposure_of() { sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

# Starts the unit and waits until it is active (running); fails with the journal tail if not.
start_unit() {
    cin systemctl start "$UNIT" 2>/dev/null || true
    unit_is active/running || fail "not active after start: $(prop ActiveState)/$(prop SubState), \
result $(prop Result), status $(prop ExecMainStatus); $(cin journalctl -u "$UNIT" -n 5 -o cat --no-pager | tr '\n' '|')"
}

# ---------------------------------------------------------------------------------------------
# Checks that work with the stand-in and the real daemon
# ---------------------------------------------------------------------------------------------

# Host side: the shipped unit file scores at most MAX_EXPOSURE offline.
check_security_offline() {
    local out
    out=$(systemd-analyze security --offline=true --no-pager "$UNIT_FILE" 2>&1) \
        || fail "systemd-analyze security failed: $(tail -1 <<<"$out")" || return
    OFFLINE_SCORE=$(exposure_of <<<"$out")
    [ -n "$OFFLINE_SCORE" ] || fail "no score in the output" || return
    le "$OFFLINE_SCORE" "$MAX_EXPOSURE" || fail "offline exposure $OFFLINE_SCORE > $MAX_EXPOSURE"
}

# Inside, with the binary really installed at ExecStart's path: no warning at all.
check_unit_verify() {
    local out
    out=$(cin systemd-analyze verify "/usr/lib/systemd/system/$UNIT" 2>&1) || fail "verify failed: $out" || return
    [ -z "$out" ] || fail "verify warned: $(tr '\n' '|' <<<"$out")"
}

# The package installs with apt, as an operator would (`apt-get install ./outpostwatch_….deb`,
# dependencies from the container's own Debian), and its maintainer scripts leave the service
# alone: neither enabled nor started. Then the test's config replaces the shipped conffile.
check_install_package() {
    needs_real || return
    local out
    out=$(cin env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
          /usr/local/share/systemd-test/outpostwatch.deb 2>&1) \
        || fail "apt-get install failed: $(tail -3 <<<"$out" | tr '\n' '|')" || return
    cin dpkg-query -W -f '${Status}' outpostwatch | grep -q 'install ok installed' \
        || fail "dpkg does not list outpostwatch as installed" || return
    [ "$(cin systemctl is-enabled "$UNIT" 2>/dev/null)" = disabled ] \
        || fail "installing enabled the service ($(cin systemctl is-enabled "$UNIT" 2>&1))" || return
    [ "$(prop ActiveState)" = inactive ] || fail "installing started the service ($(prop ActiveState))" || return
    [ "$(prop ExecStart | sed -n 's/.*path=\([^ ;]*\).*/\1/p')" = "$BIN" ] \
        || fail "ExecStart is not $BIN: $(prop ExecStart)" || return
    cin test -s /usr/share/man/man1/outpostwatch.1.gz || fail "no man page" || return
    cin cp /usr/local/share/systemd-test/config.toml /etc/outpostwatch/config.toml
}

# The installed binary finds every shared library in a plain Debian system (the package's is
# linked against the static Swift runtime: the rootfs has none).
check_install_libraries() {
    local out
    out=$(cin ldd "$BIN" 2>&1) || fail "ldd failed: $out" || return
    ! grep -q 'not found' <<<"$out" || fail "missing: $(grep 'not found' <<<"$out" | awk '{print $1}' | xargs)"
}

# [Install] works: `systemctl enable` wires it into multi-user.target.
check_unit_enable() {
    cin systemctl enable "$UNIT" >/dev/null 2>&1 || fail "systemctl enable failed" || return
    cin test -L "/etc/systemd/system/multi-user.target.wants/$UNIT" || fail "no multi-user.target.wants link"
}

# Type=notify: active (running) only once READY=1 came. The stand-in waits
# STANDIN_READY_DELAY_MS before READY=1, so systemd must have spent at least that long in
# "activating"; with the real daemon the state database must exist by then (READY=1 comes
# after the store is open). Either way STATUS= says what it watches.
check_start_ready() {
    cin systemctl start --no-block "$UNIT" || fail "start --no-block failed" || return
    local early
    early=$(prop ActiveState)   # inactive (job not run yet) or activating; never active
    start_unit || return
    local forked active
    forked=$(prop ExecMainStartTimestampMonotonic)
    active=$(prop ActiveEnterTimestampMonotonic)
    if [ "$MODE" = standin ]; then
        [ "$early" != active ] || fail "active right after start, before READY=1" || return
        [ $((active - forked)) -ge $((STANDIN_READY_DELAY_MS * 1000)) ] \
            || fail "active $(( (active - forked) / 1000 )) ms after exec, before READY=1 (${STANDIN_READY_DELAY_MS} ms)" || return
    else
        cin test -s /var/lib/private/outpostwatch/state.db || fail "active without a state database" || return
    fi
    [[ "$(prop StatusText)" == *watching* ]] || fail "STATUS= is '$(prop StatusText)', no 'watching'"
}

# The sandbox as the kernel sees it for the main process: transient non-root uid, seccomp
# filter mode, no_new_privs, no capability at all, its own user namespace, read-only root.
check_sandbox_process() {
    unit_is active/running || start_unit || return
    local inner pid uid
    inner=$(main_pid)
    pid=$(host_pid_of "$inner") || fail "main pid $inner not found from the host" || return
    uid=$(status_field "$pid" Uid)
    [ -n "$uid" ] && [ "$uid" != 0 ] || fail "uid '$uid'" || return
    [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] || fail "uid $uid outside the DynamicUser range 61184–65519" || return
    ! cin grep -q "^[^:]*:[^:]*:$uid:" /etc/passwd || fail "uid $uid is a static account" || return
    [ "$(status_field "$pid" Seccomp)" = 2 ] || fail "Seccomp $(status_field "$pid" Seccomp), want 2" || return
    [ "$(status_field "$pid" NoNewPrivs)" = 1 ] || fail "NoNewPrivs $(status_field "$pid" NoNewPrivs)" || return
    local cap
    for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
        [ "$(status_field "$pid" $cap)" = 0000000000000000 ] || fail "$cap $(status_field "$pid" $cap)" || return
    done
    # PrivateUsers=yes: a user namespace that maps only root and the service uid.
    [ "$(readlink "/proc/$pid/ns/user")" != "$(readlink "/proc/$LEADER/ns/user")" ] \
        || fail "no private user namespace" || return
    [ "$(wc -l < "/proc/$pid/uid_map")" -le 2 ] || fail "uid_map maps more than root and the service uid" || return
    # ProtectSystem=strict: / is read-only, the state directory writable.
    awk '$5 == "/" { split($6, o, ","); exit (o[1] == "ro" ? 0 : 1) }' "/proc/$pid/mountinfo" \
        || fail "/ is not mounted read-only for the service" || return
    awk '$5 == "/var/lib/private/outpostwatch" { split($6, o, ","); found = (o[1] == "rw") } END { exit !found }' \
        "/proc/$pid/mountinfo" || fail "the state directory is not mounted read-write" || return
    # ProtectProc=invisible + ProcSubset=pid: no other processes, no /proc/sys.
    awk '$5 == "/proc" { found = /hidepid=invisible/ && /subset=pid/ } END { exit !found }' "/proc/$pid/mountinfo" \
        || fail "/proc is not mounted hidepid=invisible,subset=pid" || return
    # PrivateDevices: a minimal /dev.
    [ "$(nsenter -t "$pid" -m ls /dev 2>/dev/null | grep -c '^sd\|^vd\|^nvme\|^kmsg$\|^mem$')" = 0 ] \
        || fail "/dev shows block devices or kmsg/mem"
}

# StateDirectory with DynamicUser: /var/lib/outpostwatch → private/outpostwatch, owned by the
# service's uid, 0700.
check_sandbox_state_dir() {
    unit_is active/running || start_unit || return
    local inner pid uid link owner mode
    inner=$(main_pid)
    pid=$(host_pid_of "$inner") || fail "main pid not found" || return
    uid=$(status_field "$pid" Uid)
    link=$(cin readlink /var/lib/outpostwatch) || fail "/var/lib/outpostwatch is not a symlink" || return
    [ "$link" = private/outpostwatch ] || fail "/var/lib/outpostwatch → $link" || return
    read -r owner mode < <(cin stat -c '%u %a' /var/lib/private/outpostwatch)
    [ "$owner" = "$uid" ] || fail "state directory owned by $owner, service runs as $uid" || return
    [ "$mode" = 700 ] || fail "state directory mode $mode, want 700"
}

# The daemon's own entries reach the journal under the unit with SYSLOG_IDENTIFIER=outpostwatch.
check_journal_unit_entries() {
    unit_is active/running || start_unit || return
    local n
    n=$(cin journalctl --no-pager -o cat -u "$UNIT" SYSLOG_IDENTIFIER=outpostwatch | wc -l)
    [ "$n" -gt 0 ] || fail "no entry with SYSLOG_IDENTIFIER=outpostwatch under the unit"
}

# The installed catalog is compiled by `journalctl --update-catalog`, and `journalctl -x` shows
# its text next to an entry the daemon logged with one of its MESSAGE_IDs.
check_journal_catalog() {
    local catalog=/usr/lib/systemd/catalog/outpostwatch.catalog ids id subject
    cin test -s "$catalog" || fail "$catalog not installed" || return
    cin journalctl --update-catalog || fail "journalctl --update-catalog failed" || return
    ids=$(cin sed -n 's/^-- \([0-9a-f]\{32\}\).*/\1/p' "$catalog")
    [ -n "$ids" ] || fail "no message id in $catalog" || return
    # Read the list once: `journalctl … | grep -q` under pipefail fails when grep exits early.
    local listed
    listed=$(cin journalctl --list-catalog --no-pager) || fail "journalctl --list-catalog failed" || return
    for id in $ids; do
        grep -q "^$id " <<<"$listed" || fail "catalog id $id not compiled" || return
    done
    # An entry of the unit whose MESSAGE_ID is documented.
    for id in $ids; do
        if [ -n "$(cin journalctl --no-pager -o cat -u "$UNIT" MESSAGE_ID="$id" -n 1)" ]; then
            subject=$(sed -n "s/^$id [^ ]* //p" <<<"$listed" | head -1)
            # journalctl -x substitutes the entry's fields for @FIELD@: compare the text before the
            # first one, and require that no placeholder is left.
            local shown
            shown=$(cin journalctl --no-pager -x -u "$UNIT" MESSAGE_ID="$id" -n 1)
            grep -qF -- "Subject: ${subject%%@*}" <<<"$shown" \
                || fail "journalctl -x does not show 'Subject: $subject' for $id" || return
            ! grep -q 'Subject: .*@[A-Z_]*@' <<<"$shown" \
                || fail "journalctl -x left a placeholder unsubstituted: $(grep 'Subject:' <<<"$shown")" || return
            return 0
        fi
    done
    fail "the unit logged none of the catalog's message ids"
}

# SIGHUP through ExecReload: the same process stays, reloads, and is active again (the
# RELOADING=1 … READY=1 cycle); ExecReload's kill runs inside the sandbox too.
check_reload_keeps_process() {
    unit_is active/running || start_unit || return
    local before cursor
    before=$(main_pid)
    cursor=$(journal_cursor)
    local out
    out=$(cin systemctl reload "$UNIT" 2>&1) || fail "systemctl reload failed: $out" || return
    wait_until 5 unit_is active/running || fail "not active/running after reload: $(prop SubState)" || return
    [ "$(main_pid)" = "$before" ] || fail "main pid changed on reload ($before → $(main_pid))" || return
    manager_journal_since "$cursor" | grep -q 'Reload\(ing\|ed\)' || fail "no Reloading/Reloaded in the manager's journal"
}

# SPEC 7: an invalid new config on SIGHUP keeps the old one running (same process, active),
# and the error is logged.
check_reload_broken_config() {
    unit_is active/running || start_unit || return
    local before cursor
    before=$(main_pid)
    cursor=$(journal_cursor)
    cin cp /usr/local/share/systemd-test/broken.toml /etc/outpostwatch/config.toml
    local out rc=0
    out=$(cin systemctl reload "$UNIT" 2>&1) || rc=$?
    cin cp /usr/local/share/systemd-test/config.toml /etc/outpostwatch/config.toml
    [ $rc = 0 ] || fail "systemctl reload failed ($rc): $out" || return
    wait_until 5 unit_is active/running || fail "not active/running after a broken reload: $(prop SubState)" || return
    [ "$(main_pid)" = "$before" ] || fail "restarted on a broken reload" || return
    unit_journal_since "$cursor" | grep -q 'config.toml:[0-9]*:[0-9]*:' \
        || fail "no FILE:LINE:COL error in the journal after the broken reload"
}

# State survives a restart: the same state file (inode) in the state directory, still there
# after `systemctl restart` (the stand-in counts its starts in it).
check_state_survives_restart() {
    unit_is active/running || start_unit || return
    local file inode_before inode_after
    if [ "$MODE" = standin ]; then file=/var/lib/private/outpostwatch/standin.state
    else file=/var/lib/private/outpostwatch/state.db; fi
    inode_before=$(cin stat -c %i "$file" 2>/dev/null) || fail "$file missing before restart" || return
    local count_before
    [ "$MODE" = standin ] && count_before=$(cin cat "$file")
    cin systemctl restart "$UNIT" || fail "restart failed" || return
    unit_is active/running || fail "not active after restart" || return
    inode_after=$(cin stat -c %i "$file" 2>/dev/null) || fail "$file gone after restart" || return
    [ "$inode_before" = "$inode_after" ] || fail "$file replaced on restart" || return
    if [ "$MODE" = standin ]; then
        local count_after
        count_after=$(cin cat "$file")
        [ "$count_after" = $((count_before + 1)) ] || fail "start count $count_before → $count_after, want +1"
    else
        hook_state_db_survives_restart
    fi
}

# LoadCredential (the 60-credentials.conf drop-in, in force since the first start): files
# under /etc readable only by root reach the service as $CREDENTIALS_DIRECTORY/NAME, owned by
# its transient uid, 0400.
check_credentials_loaded() {
    unit_is active/running || start_unit || return
    local pid uid dir=/run/credentials/$UNIT name owner mode
    pid=$(host_pid_of "$(main_pid)") || fail "main pid not found" || return
    uid=$(status_field "$pid" Uid)
    for name in aws-access-key-id aws-secret-access-key webhook-ops; do
        read -r owner mode < <(cin stat -c '%u %a' "$dir/$name" 2>/dev/null) || fail "$dir/$name missing" || return
        [ "$owner" = "$uid" ] && [ "$mode" = 400 ] || fail "$dir/$name is $owner/$mode, want $uid/400" || return
    done
    [ "$(tr '\0' '\n' < "/proc/$pid/environ" | sed -n 's/^CREDENTIALS_DIRECTORY=//p')" = "$dir" ] \
        || fail "CREDENTIALS_DIRECTORY not set to $dir" || return
    # Secrets never in the journal.
    ! cin journalctl --no-pager -o cat -u "$UNIT" | grep -q 'systemd-test-secret-access-key\|c3lzdGVtZC10ZXN0LXdlYmhvb2stc2VjcmV0' \
        || fail "a secret appears in the journal"
}

# WatchdogSec (2 s in the test drop-in): a frozen main process is killed for missing its pings
# (Result=watchdog) and Restart=on-failure brings a new one up.
check_watchdog_restart() {
    unit_is active/running || start_unit || return
    local inner pid restarts cursor
    inner=$(main_pid)
    pid=$(host_pid_of "$inner") || fail "main pid not found" || return
    restarts=$(prop NRestarts)
    cursor=$(journal_cursor)
    kill -STOP "$pid"
    wait_until 15 sh -c "[ \"\$(nsenter -t $LEADER -a systemctl show -P NRestarts $UNIT)\" -gt $restarts ]" \
        || { kill -CONT "$pid" 2>/dev/null; fail "no restart within 15 s of freezing the main process"; } || return
    wait_until 10 unit_is active/running || fail "not active/running after the watchdog restart" || return
    [ "$(main_pid)" != "$inner" ] || fail "same main pid after the restart" || return
    manager_journal_since "$cursor" | grep -q "Failed with result 'watchdog'" \
        || fail "the manager did not log \"Failed with result 'watchdog'\""
}

# SPEC 7: SIGTERM → exit 0 within 5 s: the stop job is quick and ends in Result=success.
check_stop_fast() {
    unit_is active/running || start_unit || return
    local t0 ms
    t0=$(date +%s%N)
    cin systemctl stop "$UNIT" || fail "systemctl stop failed" || return
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ $ms -le $((STOP_DEADLINE_S * 1000)) ] || fail "stop took $ms ms" || return
    [ "$(prop Result)" = success ] || fail "Result=$(prop Result) after stop" || return
    [ "$(prop ExecMainStatus)" = 0 ] || fail "exit status $(prop ExecMainStatus) on SIGTERM" || return
    STOP_MS=$ms
}

# Exit status 78 (config error) fails the unit without a restart loop (RestartPreventExitStatus).
# systemd decides between failed and auto-restart the moment the process exits, before the
# start job ends, so the state right after `systemctl start` returns is the verdict.
check_config_error_no_restart() {
    cin systemctl stop "$UNIT" 2>/dev/null || true
    cin systemctl reset-failed "$UNIT" 2>/dev/null || true
    local cursor
    cursor=$(journal_cursor)
    cin cp /usr/local/share/systemd-test/broken.toml /etc/outpostwatch/config.toml
    cin systemctl start "$UNIT" 2>/dev/null && { cin cp /usr/local/share/systemd-test/config.toml /etc/outpostwatch/config.toml; fail "start succeeded with a broken config"; return; }
    local state status restarts
    state=$(prop ActiveState)/$(prop SubState); status=$(prop ExecMainStatus); restarts=$(prop NRestarts)
    cin cp /usr/local/share/systemd-test/config.toml /etc/outpostwatch/config.toml
    [ "$status" = 78 ] || fail "exit status $status, want 78" || return
    [ "$state" = failed/failed ] || fail "state $state, want failed/failed" || return
    [ "$restarts" = 0 ] || fail "restarted $restarts times" || return
    unit_journal_since "$cursor" | grep -q 'config.toml:[0-9]*:[0-9]*:' \
        || fail "no FILE:LINE:COL error in the unit's journal"
    cin systemctl reset-failed "$UNIT" 2>/dev/null || true
}

# Online (the unit as loaded, drop-ins included) exposure is no worse than the offline one.
check_security_online() {
    local out
    out=$(cin systemd-analyze security --no-pager "$UNIT" 2>&1) || fail "systemd-analyze security failed" || return
    ONLINE_SCORE=$(exposure_of <<<"$out")
    [ -n "$ONLINE_SCORE" ] || fail "no score in the output" || return
    [ -n "$OFFLINE_SCORE" ] || fail "no offline score to compare with" || return
    le "$ONLINE_SCORE" "$OFFLINE_SCORE" || fail "online exposure $ONLINE_SCORE > offline $OFFLINE_SCORE"
}

# The receiver and the signature verifier themselves, with a request signed on the host by
# the standardwebhooks package: a good one is accepted, a tampered one rejected. Keeps the
# webhook.signatures check honest while no real delivery exists.
check_webhook_receiver_selftest() {
    have_standardwebhooks || return
    local dir=$RUN/requests-selftest answer report
    receiver_clear
    answer=$(python3 "$HELPERS/verify_webhooks.py" sign "$WEBHOOK_SECRET" | receiver_send) \
        || fail "cannot post to the receiver" || return
    [[ "$answer" == "HTTP/1.1 204"* ]] || fail "receiver answered '${answer%%$'\r'*}'" || return
    receiver_collect "$dir" || fail "cannot collect the captured request" || return
    report=$(python3 "$HELPERS/verify_webhooks.py" verify "$dir" "$WEBHOOK_SECRET") \
        || fail "a correctly signed request was rejected: $report" || return
    receiver_clear
    rm -rf "$dir"
    python3 "$HELPERS/verify_webhooks.py" sign "$WEBHOOK_SECRET" --tamper | receiver_send >/dev/null \
        || fail "cannot post to the receiver" || return
    receiver_collect "$dir" || fail "cannot collect the tampered request" || return
    if report=$(python3 "$HELPERS/verify_webhooks.py" verify "$dir" "$WEBHOOK_SECRET"); then
        fail "a tampered request was accepted"; return
    fi
    [[ "$report" == *"signature"* ]] || fail "tampered request rejected for another reason: $report"
    receiver_clear
}

have_standardwebhooks() {
    python3 -c 'import standardwebhooks' 2>/dev/null \
        || skip "python3 package standardwebhooks missing on the host (pip install standardwebhooks)"
}
receiver_clear() { cin sh -c 'mkdir -p /var/lib/owtest-receiver && rm -f /var/lib/owtest-receiver/*'; }
# Posts stdin (a whole HTTP request) to the receiver from inside the container; prints the answer.
receiver_send() { cin timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8715 && cat >&3 && cat <&3'; }
receiver_collect() {
    rm -rf "$1" && mkdir -p "$1"
    cin tar -C /var/lib/owtest-receiver -cf - . | tar -C "$1" -xf -
}

# ---------------------------------------------------------------------------------------------
# HOOKS for checks that need the real daemon (and its simulator). In --standin mode they are
# skipped (a failure under CI=true). Each says what it needs.
# ---------------------------------------------------------------------------------------------
needs_real() { [ "$MODE" = real ] || skip "needs the real daemon (run without --standin)"; }

# HOOK: the simulator's lifecycle shows up in the journal as one entry per transition with
# EVENT_TYPE, ORDER_ID, FROM_STATUS, TO_STATUS and a MESSAGE_ID documented in the catalog.
# Needs: `outpostwatch simulate --listen 127.0.0.1:8714 --scenario FILE` (the scenario format
# is not fixed yet: SIM_SCENARIO names a scenario file to copy in, else the simulator's default).
check_events_lifecycle() {
    needs_real || return
    start_simulator || return
    unit_is active/running || start_unit || return
    local order=oo-0123456789abcdef0
    wait_until 30 sh -c "nsenter -t $LEADER -a journalctl --no-pager -o cat -u $UNIT EVENT_TYPE=order.first_seen ORDER_ID=$order | grep -q ." \
        || fail "no order.first_seen entry for $order within 30 s" || return
    wait_until 60 sh -c "nsenter -t $LEADER -a journalctl --no-pager -o cat -u $UNIT EVENT_TYPE=order.status_changed ORDER_ID=$order | grep -q ." \
        || fail "no order.status_changed entry for $order within 60 s (does the simulator's scenario move it?)" || return
    local entry
    entry=$(cin journalctl --no-pager -o export -u "$UNIT" EVENT_TYPE=order.status_changed ORDER_ID="$order" -n 1)
    local field
    for field in EVENT_ID FROM_STATUS TO_STATUS MESSAGE_ID OUTPOST_ID; do
        grep -q "^$field=." <<<"$entry" || fail "order.status_changed entry without $field" || return
    done
    grep -q '^PRIORITY=[45]$' <<<"$entry" || fail "PRIORITY not 4 or 5"
}

# HOOK: every delivery the receiver got (the daemon's own, after events.lifecycle, plus one
# synthetic event from `outpostwatch test-sink ops`, run with the service's identity and
# credential) is signed with the webhook-ops credential and shaped as SPEC section 5 says.
check_webhook_signatures() {
    needs_real || return
    have_standardwebhooks || return
    local out report dir=$RUN/requests
    unit_is active/running || start_unit || return
    out=$(as_service "$BIN" test-sink --config /etc/outpostwatch/config.toml ops 2>&1) \
        || fail "test-sink ops failed: $(tail -3 <<<"$out" | tr '\n' '|')" || return
    receiver_collect "$dir" || fail "cannot collect the captured requests" || return
    report=$(python3 "$HELPERS/verify_webhooks.py" verify "$dir" "$WEBHOOK_SECRET") \
        || fail "$(grep -v '^ok ' <<<"$report" | head -3 | tr '\n' '|')" || return
    ! grep -rq 'systemd-test-webhook-secret\|c3lzdGVtZC10ZXN0LXdlYmhvb2stc2VjcmV0' "$dir" \
        || fail "the webhook secret appears in a delivery"
}

# HOOK: SIGHUP with an added [[order]] starts polling it: RELOADING=1 then READY=1 (active
# again, same pid), and a first_seen event for the new order.
check_reload_adds_order() {
    needs_real || return
    local rc=0
    reload_adds_order || rc=$?
    # Back to the test config whatever happened, so later checks see the usual daemon.
    cin cp /usr/local/share/systemd-test/config.toml /etc/outpostwatch/config.toml
    cin systemctl reload "$UNIT" 2>/dev/null || true
    return $rc
}
reload_adds_order() {
    start_simulator || return
    unit_is active/running || start_unit || return
    local added=oo-00000000000000001 before
    before=$(main_pid)
    { cin cat /usr/local/share/systemd-test/config.toml
      printf '\n[[order]]\nid = "%s"\nlabel = "added on reload"\n' "$added"; } | container_write /etc/outpostwatch/config.toml
    cin systemctl reload "$UNIT" || fail "reload failed" || return
    wait_until 5 unit_is active/running || fail "not active after reload" || return
    [ "$(main_pid)" = "$before" ] || fail "main pid changed" || return
    wait_until 30 sh -c "nsenter -t $LEADER -a journalctl --no-pager -o cat -u $UNIT ORDER_ID=$added | grep -q ." \
        || fail "no journal entry for the added order $added within 30 s" || return
    [[ "$(prop StatusText)" == *"watching 2 orders"* ]] || fail "STATUS= '$(prop StatusText)' does not count 2 orders"
}

# HOOK (called by check_state_survives_restart): the history recorded before a restart is
# still there after it, read with `outpostwatch history --json` as the service's uid.
hook_state_db_survives_restart() {
    local n
    n=$(as_service "$BIN" history --config /etc/outpostwatch/config.toml --json 2>/dev/null \
        | grep -o '"sequence"' | wc -l) || true
    [ "${n:-0}" -gt 0 ] || fail "history --json is empty after the restart"
}

# HOOK: the daemon polled with the credential keys. Run after events.lifecycle: polls
# succeeded, and the service has no other credential source (no AWS_* environment, no home
# with ~/.aws, no IMDS in a private network), so they were signed with the credentials. The
# secret never appears in the journal, in any field.
check_credentials_used() {
    needs_real || return
    local pid
    pid=$(host_pid_of "$(main_pid)") || fail "main pid not found" || return
    ! tr '\0' '\n' < "/proc/$pid/environ" | grep -q '^AWS_' || fail "the service has AWS_* variables" || return
    [ -n "$(cin journalctl --no-pager -o cat -u "$UNIT" EVENT_TYPE=order.first_seen -n 1)" ] \
        || fail "no successful poll (no order.first_seen) to prove the credentials work" || return
    ! cin journalctl --no-pager -o export -u "$UNIT" | grep -q 'systemd-test-secret-access-key' \
        || fail "the AWS secret appears in the journal"
}

# HOOK: root's `outpostwatch status`, next to the running service and with the same config (no
# storage.path), finds the service's store by itself: /var/lib/outpostwatch/state.db, the unit's
# StateDirectory. Run after events.lifecycle, so the store holds the watched order.
check_cli_default_store() {
    needs_real || return
    unit_is active/running || start_unit || return
    local out
    out=$(cin env -i PATH=/usr/bin:/bin HOME=/root sh -c 'cd / && exec "$0" status --config /etc/outpostwatch/config.toml --json' \
          "$BIN" 2>&1) || fail "status failed: $(tail -3 <<<"$out" | tr '\n' '|')" || return
    grep -q '"oo-0123456789abcdef0"' <<<"$out" || fail "status does not list the service's order: $out" || return
    grep -q '"last_poll_at" *: *[^n ]' <<<"$out" || fail "status shows no poll of the service: $out" || return
    ! cin test -e /outpostwatch.db || fail "status created ./outpostwatch.db instead of reading the service's store"
}

# The simulator as a transient unit inside the container, on the loopback port config.toml uses.
start_simulator() {
    cin systemctl is-active --quiet outpostwatch-simulator.service && return 0
    cin systemctl reset-failed outpostwatch-simulator.service 2>/dev/null || true
    local scenario_args=()
    if [ -n "${SIM_SCENARIO:-}" ]; then
        container_write /usr/local/share/systemd-test/scenario < "$SIM_SCENARIO"
        scenario_args=(--scenario /usr/local/share/systemd-test/scenario)
    fi
    # Not --collect: a failed simulator stays loaded for its journal; reset-failed above.
    cin systemd-run --quiet --unit=outpostwatch-simulator -p DynamicUser=yes \
        "$BIN" simulate --listen 127.0.0.1:8714 "${scenario_args[@]}" \
        || fail "cannot start the simulator" || return
    wait_until 10 cin bash -c 'exec 3<>/dev/tcp/127.0.0.1/8714' \
        || fail "the simulator does not listen on 127.0.0.1:8714: \
$(cin journalctl --no-pager -o cat -u outpostwatch-simulator -n 3 | tr '\n' '|')"
}

# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
STOP_MS=
ensure_host_tools
ensure_rootfs
mkdir -p "$RUN"
install_project
boot_container

run_check security.offline
run_check install.package
run_check install.libraries
run_check unit.verify
run_check unit.enable
run_check start.ready
run_check sandbox.process
run_check sandbox.state-dir
run_check journal.unit-entries
run_check reload.keeps-process
run_check reload.broken-config
run_check credentials.loaded
run_check webhook.receiver-selftest
run_check events.lifecycle
run_check journal.catalog
run_check credentials.used
run_check cli.default-store
run_check state.survives-restart
run_check reload.adds-order
run_check webhook.signatures
run_check watchdog.restart
run_check security.online
run_check stop.fast
run_check config-error.no-restart

ROOTFS_SIZE=$(du -sh "$ROOTFS/" 2>/dev/null | cut -f1)
echo "---"
echo "mode:            $MODE${DEB:+ ($(basename "$DEB"))}"
echo "checks:          $PASSES passed, $FAILS failed, $SKIPS skipped${FAILED_NAMES[*]:+ (failed: ${FAILED_NAMES[*]})}"
echo "exposure:        offline ${OFFLINE_SCORE:-?}, online ${ONLINE_SCORE:-?} (limit $MAX_EXPOSURE)"
echo "rootfs:          $ROOTFS_SIZE${ROOTFS_CREATED_S:+, created in ${ROOTFS_CREATED_S} s}"
echo "boot to running: ${BOOT_S:-?} s"
echo "stop:            ${STOP_MS:-?} ms"
echo "wall time:       $(elapsed_s "$START_NS") s"
[ "$FAILS" = 0 ]
