#!/bin/sh
# Starts a real systemd-journald when none is listening, so tests can write entries and read
# them back with journalctl. On a machine with systemd as PID 1 the socket already exists.
set -e
SOCKET=/run/systemd/journal/socket
[ -S "$SOCKET" ] && exit 0
if [ ! -x /lib/systemd/systemd-journald ]; then
    echo "ensure-journald: /lib/systemd/systemd-journald not found (apt-get install systemd)" >&2
    exit 1
fi
(setsid /lib/systemd/systemd-journald >/dev/null 2>&1 &)
for _ in $(seq 1 50); do
    [ -S "$SOCKET" ] && exit 0
    sleep 0.1
done
echo "ensure-journald: journald did not create $SOCKET" >&2
exit 1
