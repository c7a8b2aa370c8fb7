#!/bin/sh
# Boots the test container; started in the background by scripts/systemd-test.sh.
#   boot.sh outer NAME LOWER RUN
# The recipe of FACTS.md ("A real systemd, booted in a container"), in two stages because each
# needs its own process:
#   outer: move this process into a cgroup of its own in both hierarchies (nspawn needs a
#          delegated subtree; the cleanup removes it), then unshare into the inner stage;
#   inner: pid 1 of a private pid+mount namespace: a tmpfs on /run (nspawn will not clean its
#          propagation folder on the host's disk-backed /run) and the overlay root (the cached
#          rootfs below, RUN/upper on top); both mounts vanish with the namespace. Then nspawn.
# --register=no --keep-unit: no machined/system bus on this host. CAP_BPF and the bpf syscall:
# without them IPAddressDeny= and DevicePolicy= are silently ignored inside.
# SWIFT_RUNTIME_DIR (optional): the toolchain's runtime libraries, bound read-only at the same
# path, for a binary linked against the dynamic Swift runtime (the test build) rather than the
# static one `make install` builds.
set -eu
stage=$1 name=$2 lower=$3 run=$4
case $stage in
outer)
    for h in unified systemd; do
        mkdir -p "/sys/fs/cgroup/$h/$name"
        echo $$ > "/sys/fs/cgroup/$h/$name/cgroup.procs"
    done
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec unshare --pid --fork --mount --mount-proc --propagation private \
        "$0" inner "$name" "$lower" "$run"
    ;;
inner)
    mount -t tmpfs -o mode=755 tmpfs /run
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=$run/upper,workdir=$run/work" "$run/root"
    exec systemd-nspawn --quiet --register=no --keep-unit --private-network --link-journal=no \
        --console=read-only --capability=CAP_BPF --system-call-filter=bpf \
        ${SWIFT_RUNTIME_DIR:+--bind-ro=$SWIFT_RUNTIME_DIR} \
        -D "$run/root" -M "$name" -b
    ;;
*)
    echo "usage: $0 outer NAME LOWER RUN" >&2
    exit 64
    ;;
esac
