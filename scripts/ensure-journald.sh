#!/bin/sh
# Starts a real systemd-journald when none is listening, so tests can write entries and read
# them back with journalctl. On a machine with systemd as PID 1 one already listens.
#
# "Listening" means the native socket accepts a connection: the socket file outlives a journald
# that was killed (a restarted container or CI runner keeps /run), and entries sent to a stale
# socket are refused. journald replaces a stale socket file when it starts.
set -e
SOCKET=/run/systemd/journal/socket
listening() {
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)' "$SOCKET"
}
listening && exit 0
if [ ! -x /lib/systemd/systemd-journald ]; then
    echo "ensure-journald: /lib/systemd/systemd-journald not found (apt-get install systemd)" >&2
    exit 1
fi
[ -S "$SOCKET" ] && echo "ensure-journald: $SOCKET is stale (no journald behind it); starting one" >&2
(setsid /lib/systemd/systemd-journald >/dev/null 2>&1 &)
for _ in $(seq 1 50); do
    listening && exit 0
    sleep 0.1
done
echo "ensure-journald: journald did not start listening on $SOCKET" >&2
exit 1
