#!/bin/sh
# The real tools the tests validate against (docs/metrics.md, docs/cli.md "assets"): promtool
# (Debian prometheus), dnsmasq (dnsmasq-base), kea-dhcp4 (kea-dhcp4-server), dhcpd
# (isc-dhcp-server). Installed only when missing; the tests only run their config checks, so no
# daemon of these packages may stay running or enabled after the install.
set -u
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
missing=""
for p in prometheus dnsmasq-base kea-dhcp4-server isc-dhcp-server; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
daemons='prometheus|kea-dhcp4|dhcpd|dnsmasq'
before=" $(pgrep -x "$daemons" | tr '\n' ' ') "
# invoke-rc.d and deb-systemd-invoke ask policy-rc.d whether a maintainer script may start a
# service: 101 says no. Put one in place for the install unless the machine has its own.
policy=/usr/sbin/policy-rc.d
added=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 0755 "$policy" && added=1
fi
status=0
$SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends $missing || status=$?
[ -n "$added" ] && $SUDO rm -f "$policy"
# Whatever started anyway during the install (and was not running before) is stopped by its pid.
for pid in $(pgrep -x "$daemons"); do
  case "$before" in *" $pid "*) ;; *) echo "stopping $(cat /proc/$pid/comm 2>/dev/null) ($pid), started by the install"; $SUDO kill "$pid" || true;; esac
done
# And none starts at the next boot: systemctl disable works without systemd running (it edits links).
for unit in prometheus kea-dhcp4-server isc-dhcp-server; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable "$unit" >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null 2>&1; then $SUDO update-rc.d "$unit" disable >/dev/null 2>&1 || true; fi
done
exit $status
