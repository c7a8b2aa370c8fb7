#!/usr/bin/env bash
# Builds outpostwatch_VERSION_ARCH.deb from a staged tree with dpkg-deb (no debhelper, no
# source package: the binary is already built and tested).
#
#   scripts/build-deb.sh BINARY MANUAL_TOOL OUTDIR
#
# BINARY       the release binary linked against the static Swift runtime (make static)
# MANUAL_TOOL  swift-argument-parser's generate-manual (what its generate-manual plugin runs):
#              it renders the man page from the binary's own command definitions
# OUTDIR       where the .deb goes
#
# Contents (docs/service.md, "Installing the package"): the binary in /usr/bin, the unit with
# ExecStart=/usr/bin/outpostwatch, the journald catalog, /etc/outpostwatch/config.toml as a
# conffile, outpostwatch(1), bash/zsh/fish completions, copyright and changelog. Depends comes
# from the binary's real shared libraries (dpkg-shlibdeps). The maintainer scripts reload
# systemd and the catalog; they never enable or start the service.
set -euo pipefail

[ $# -eq 3 ] || { sed -n '4,6p' "$0" >&2; exit 64; }
BINARY=$(realpath "$1") MANUAL_TOOL=$(realpath "$2") OUTDIR=$(realpath "$3")
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=$REPO/packaging/deb
die() { echo "build-deb: $*" >&2; exit 1; }

for tool in dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" >/dev/null || die "$tool missing (apt-get install dpkg-dev)"
done
# The package ships no Swift runtime: a binary that needs one would not run where it lands.
if ldd "$BINARY" | grep -q 'libswift\|libFoundation\|libdispatch'; then
    die "$BINARY links the Swift runtime dynamically; build it with make static"
fi

VERSION=$("$BINARY" --version)
# The Debian changelog's newest entry names the same version as the binary.
CHANGELOG_VERSION=$(sed -n '1s/^outpostwatch (\([^)]*\)).*/\1/p' "$PKG/changelog")
[ "$CHANGELOG_VERSION" = "$VERSION" ] \
    || die "packaging/deb/changelog starts at $CHANGELOG_VERSION, the binary says $VERSION"
ARCH=$(dpkg --print-architecture)
# Reproducible: every generated date and file time is the changelog's.
SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  //p' "$PKG/changelog" | head -1)" +%s)
export SOURCE_DATE_EPOCH

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root

# Files. The unit's ExecStart already names /usr/bin/outpostwatch (make install rewrites it
# for another PREFIX).
install -D -m 0755 "$BINARY" "$ROOT/usr/bin/outpostwatch"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$ROOT/usr/bin/outpostwatch"
grep -q '^ExecStart=/usr/bin/outpostwatch ' "$REPO/systemd/outpostwatch.service" \
    || die "systemd/outpostwatch.service: ExecStart is not /usr/bin/outpostwatch"
install -D -m 0644 "$REPO/systemd/outpostwatch.service" "$ROOT/usr/lib/systemd/system/outpostwatch.service"
install -D -m 0644 "$REPO/systemd/outpostwatch.catalog" "$ROOT/usr/lib/systemd/catalog/outpostwatch.catalog"
install -D -m 0644 "$REPO/config/outpostwatch.example.toml" "$ROOT/etc/outpostwatch/config.toml"

DOC=$ROOT/usr/share/doc/outpostwatch
install -D -m 0644 "$PKG/copyright" "$DOC/copyright"
install -D -m 0644 "$PKG/changelog" "$DOC/changelog"
gzip -9n "$DOC/changelog"
install -D -m 0644 "$PKG/lintian-overrides" "$ROOT/usr/share/lintian/overrides/outpostwatch"

# outpostwatch(1), from the command definitions (--experimental-dump-help).
mkdir -p "$WORK/man"
"$MANUAL_TOOL" "$ROOT/usr/bin/outpostwatch" --section 1 \
    --date "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)" --output-directory "$WORK/man" >/dev/null
install -D -m 0644 "$WORK/man/outpostwatch.1" "$ROOT/usr/share/man/man1/outpostwatch.1"
gzip -9n "$ROOT/usr/share/man/man1/outpostwatch.1"

# Completions, where each shell looks for completions shipped by packages.
completion() { "$ROOT/usr/bin/outpostwatch" --generate-completion-script "$1"; }
mkdir -p "$ROOT/usr/share/bash-completion/completions" "$ROOT/usr/share/zsh/vendor-completions" \
         "$ROOT/usr/share/fish/vendor_completions.d"
# bash-completion sources the file: no #! line (lintian: bash-completion-with-hashbang).
completion bash | sed '1{/^#!/d}' > "$ROOT/usr/share/bash-completion/completions/outpostwatch"
completion zsh > "$ROOT/usr/share/zsh/vendor-completions/_outpostwatch"
completion fish > "$ROOT/usr/share/fish/vendor_completions.d/outpostwatch.fish"
chmod 0644 "$ROOT"/usr/share/*/*completion*/* "$ROOT/usr/share/zsh/vendor-completions/_outpostwatch"

# Depends: the packages that provide the binary's shared libraries (dpkg-shlibdeps reads a
# debian/control, so it runs from a throwaway source tree).
mkdir -p "$WORK/src/debian"
printf 'Source: outpostwatch\n\nPackage: outpostwatch\nArchitecture: any\n' > "$WORK/src/debian/control"
DEPENDS=$(cd "$WORK/src" && dpkg-shlibdeps -O -e "$ROOT/usr/bin/outpostwatch" 2>/dev/null \
          | sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || die "dpkg-shlibdeps found no dependency"

# Control area.
mkdir -p "$ROOT/DEBIAN"
INSTALLED_SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@DEPENDS@|$DEPENDS|" \
    -e "s|@INSTALLED_SIZE@|$INSTALLED_SIZE|" "$PKG/control.in" > "$ROOT/DEBIAN/control"
echo /etc/outpostwatch/config.toml > "$ROOT/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "$PKG/$script" "$ROOT/DEBIAN/$script"; done
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
    | xargs -0 md5sum) > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/conffiles" "$ROOT/DEBIAN/md5sums"

find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
DEB=$OUTDIR/outpostwatch_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
echo "$DEB ($(du -h "$DEB" | cut -f1); Depends: $DEPENDS)"
