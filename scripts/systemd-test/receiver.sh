#!/bin/bash
# A webhook receiver for the test container, one request per connection: started by
# owtest-receiver.socket (Accept=yes) with the connection as stdin/stdout. It stores the
# request as REQUESTS/<time>.head (request line and headers, CR stripped) and .body (exact
# bytes), answers 204 and closes; scripts/systemd-test/verify_webhooks.py checks them on the
# host. Shell only, because the rootfs has no python and the daemon has no receiver command.
set -euo pipefail
dir=${RECEIVER_DIR:-/var/lib/owtest-receiver}
name=$dir/$(date +%s%N)-$$
length=0
: > "$name.head.tmp"
while IFS= read -r line; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    printf '%s\n' "$line" >> "$name.head.tmp"
    case ${line,,} in
        content-length:*) length=${line#*:}; length=${length//[!0-9]/} ;;
    esac
done
head -c "${length:-0}" > "$name.body"
mv "$name.head.tmp" "$name.head"   # .head last: a complete request is one with a .head
printf 'HTTP/1.1 204 No Content\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
