#!/usr/bin/env bash
# Build the Floorhand .deb from the PyInstaller bundle: `make deb` runs it.
#
#   packaging/linux/build-deb.sh BUNDLE_DIR VERSION OUTPUT.deb
#
# DEB_COMPRESSION (xz, the default and the smallest; gzip; zstd, which dpkg reads from
# Debian 12 and Ubuntu 21.10 on) and DEB_LEVEL (dpkg-deb -z) choose the compression.
#
# Layout: the bundle in /opt/floorhand, /usr/bin/floorhand a symlink to it, a .desktop entry
# and icon, an example machine config in /usr/share/doc/floorhand/examples. The machine config
# itself (/etc/floorhand/config.toml) is not shipped: IT writes it (see docs/deployment.md),
# so an upgrade never asks about a changed conffile.
set -euo pipefail

bundle=${1:?bundle folder, e.g. dist/floorhand}
version=${2:?version, e.g. 0.1.0}
output=${3:?output .deb path}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
arch=$(dpkg --print-architecture)
compression=${DEB_COMPRESSION:-xz}
maintainer="Floorhand IT <it@floorhand.invalid>"

test -x "$bundle/floorhand" || { echo "build-deb.sh: no bundle at $bundle (run make bundle)" >&2; exit 1; }

# Libraries the bundle takes from the system (packaging/floorhand.spec, SYSTEM_LIBS) and the
# ones Qt loads at run time: the C++ runtime, the xcb platform plugin, EGL/GL, fontconfig,
# D-Bus, GLib, PulseAudio for the scan sounds, GSSAPI for QtNetwork.
# The newest glibc symbol version any bundled binary needs (what dpkg-shlibdeps would work out):
# the bundle built on Debian 12 needs glibc 2.36, so apt refuses it on Ubuntu 22.04 (2.35)
# with a clear message instead of failing at start.
glibc=$(find "$bundle" -type f \( -name '*.so*' -o -name floorhand \) -exec objdump -T {} + 2>/dev/null \
    | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -V | tail -n 1)
test -n "$glibc" || { echo "build-deb.sh: cannot read the glibc versions the bundle needs (objdump)" >&2; exit 1; }
depends=(
    "libc6 (>= $glibc)" libstdc++6 libgcc-s1 libegl1 libgl1 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libgssapi-krb5-2
    libx11-6 libx11-xcb1 libxcb1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
    libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-shm0
    libxcb-sync1 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 libpulse0
)

# Wayland is optional: without these Qt runs through XWayland on a Wayland desktop.
recommends=(libwayland-client0 libwayland-cursor0 libwayland-egl1)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"

install -d "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
    "$root/usr/share/icons/hicolor/scalable/apps" "$root/usr/share/doc/floorhand/examples" "$root/etc/floorhand" \
    "$root/usr/share/lintian/overrides"
cp -a "$bundle" "$root/opt/floorhand"
# Relative, so that the link also works in an installation below another root (dpkg --root).
ln -s ../../opt/floorhand/floorhand "$root/usr/bin/floorhand"
install -m 644 "$here/floorhand.desktop" "$root/usr/share/applications/floorhand.desktop"
install -m 644 "$here/floorhand.svg" "$root/usr/share/icons/hicolor/scalable/apps/floorhand.svg"
install -m 644 "$here/../config.example.toml" "$root/usr/share/doc/floorhand/examples/config.toml"
install -m 644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/floorhand"
printf 'floorhand (%s) stable; urgency=medium\n\n  * Floorhand %s.\n\n -- %s  %s\n' "$version" "$version" \
    "$maintainer" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")" | gzip -9n > "$root/usr/share/doc/floorhand/changelog.gz"
cat > "$root/usr/share/doc/floorhand/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: floorhand
Comment: Floorhand is proprietary software. The folder /opt/floorhand/_internal holds
 Python, Qt for Python (PySide6, LGPL-3.0) and the other Python libraries listed in
 requirements.lock, each under its own licence (see their .dist-info folders).

Files: *
Copyright: $(date -u +%Y) Floorhand
License: proprietary
EOF
# No prerm: nothing runs, nothing is cached below /opt/floorhand, and users' data (the local
# cache and queued work in their home folders) must survive a removal.
install -m 755 "$here/postinst" "$root/DEBIAN/"

# Files readable by everyone, directories and executables enterable; nothing group/world-writable.
chmod -R u+rwX,go+rX,go-w "$root"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: floorhand
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $(IFS=,; echo "${depends[*]}" | sed 's/,/, /g')
Recommends: $(IFS=,; echo "${recommends[*]}" | sed 's/,/, /g')
Section: misc
Priority: optional
Homepage: https://floorhand.invalid/
Description: offline-first picking, packing and photo studio client
 Floorhand is the back-office client of the warehouse: pickers scan items,
 packers close parcels, photographers upload product images. It keeps working
 on a local cache when the network is gone and synchronises with the central
 order API when it is back.
 .
 The machine config is /etc/floorhand/config.toml (example in
 /usr/share/doc/floorhand/examples/config.toml). Run "floorhand doctor" to check
 a workstation.
EOF

mkdir -p "$(dirname "$output")"
dpkg-deb --root-owner-group -Z"$compression" ${DEB_LEVEL:+-z"$DEB_LEVEL"} --build "$root" "$output" >/dev/null
echo "built $output ($(du -h "$output" | cut -f1), installed size $((installed_size / 1024)) MiB)"
