#!/usr/bin/env bash
# Build Floorhand.app from packaging/floorhand.spec, sign it, wrap it in a signed installer
# package, notarise and staple it. Run on macOS from the repository root, with the virtual
# environment installed from packaging/macos/requirements.lock in .venv:
#
#   packaging/macos/build-pkg.sh
#
# Signing and notarisation happen when their identities are given (otherwise the .app and
# the .pkg are built unsigned, for a CI check of the build itself):
#   APP_IDENTITY        "Developer ID Application: Example GmbH (TEAMID1234)"
#   INSTALLER_IDENTITY  "Developer ID Installer: Example GmbH (TEAMID1234)"
#   NOTARY_PROFILE      a notarytool keychain profile (xcrun notarytool store-credentials), or
#   NOTARY_APPLE_ID, NOTARY_TEAM_ID, NOTARY_PASSWORD (an app-specific password)
#
# Output: dist/Floorhand.app and dist/Floorhand-<version>.pkg, which installs the app to
# /Applications, creates "/Library/Application Support/Floorhand" for the machine config and
# puts a `floorhand` command in /usr/local/bin (packaging/macos/scripts/postinstall).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${PYTHON:-.venv/bin/python}
version=$(sed -n 's/^VERSION = "\(.*\)"/\1/p' desktop_app/version.py)
identifier=com.floorhand.client
app=dist/Floorhand.app
pkg=dist/Floorhand-$version.pkg
work=build/macos

"$python" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/floorhand.spec
test -x "$app/Contents/MacOS/floorhand"

if [ -n "${APP_IDENTITY:-}" ]; then
    # Inside out: every Mach-O file in the bundle first, then the app itself. Not --deep, which
    # signs nested code with the outer bundle's options and hides what it signed.
    while IFS= read -r -d '' file; do
        if file -b "$file" | grep -q "Mach-O"; then
            codesign --force --timestamp --options runtime --sign "$APP_IDENTITY" "$file"
        fi
    done < <(find "$app/Contents/Frameworks" "$app/Contents/Resources" -type f -print0)
    codesign --force --timestamp --options runtime --entitlements "$here/entitlements.plist" \
        --sign "$APP_IDENTITY" "$app"
    codesign --verify --strict --verbose=2 "$app"
fi

rm -rf "$work" && mkdir -p "$work/root/Applications"
ditto "$app" "$work/root/Applications/Floorhand.app"
# Installed where IT put it: never relocated to a copy of the app found elsewhere on the disk.
pkgbuild --analyze --root "$work/root" "$work/components.plist"
plutil -replace 0.BundleIsRelocatable -bool NO "$work/components.plist"
pkgbuild --root "$work/root" --component-plist "$work/components.plist" --identifier "$identifier" \
    --version "$version" --install-location / --scripts "$here/scripts" "$work/floorhand-component.pkg"

arch=$(uname -m)
cat > "$work/distribution.xml" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<installer-gui-script minSpecVersion="2">
    <title>Floorhand $version</title>
    <options customize="never" require-scripts="false" hostArchitectures="$arch"/>
    <domains enable_anywhere="false" enable_currentUserHome="false" enable_localSystem="true"/>
    <volume-check><allowed-os-versions><os-version min="14.0"/></allowed-os-versions></volume-check>
    <choices-outline><line choice="default"><line choice="$identifier"/></line></choices-outline>
    <choice id="default"/>
    <choice id="$identifier" visible="false"><pkg-ref id="$identifier"/></choice>
    <pkg-ref id="$identifier" version="$version" onConclusion="none">floorhand-component.pkg</pkg-ref>
</installer-gui-script>
EOF
sign_args=()
if [ -n "${INSTALLER_IDENTITY:-}" ]; then
    sign_args=(--sign "$INSTALLER_IDENTITY" --timestamp)
fi
# (the ${a[@]+...} form: bash 3.2, the one macOS ships, treats an empty array as unset under set -u)
productbuild --distribution "$work/distribution.xml" --package-path "$work" ${sign_args[@]+"${sign_args[@]}"} "$pkg"

if [ -n "${INSTALLER_IDENTITY:-}" ]; then
    pkgutil --check-signature "$pkg"
    if [ -n "${NOTARY_PROFILE:-}" ]; then
        xcrun notarytool submit "$pkg" --keychain-profile "$NOTARY_PROFILE" --wait
    elif [ -n "${NOTARY_APPLE_ID:-}" ]; then
        xcrun notarytool submit "$pkg" --apple-id "$NOTARY_APPLE_ID" --team-id "$NOTARY_TEAM_ID" \
            --password "$NOTARY_PASSWORD" --wait
    fi
    if [ -n "${NOTARY_PROFILE:-}${NOTARY_APPLE_ID:-}" ]; then
        xcrun stapler staple "$pkg"
        xcrun stapler validate "$pkg"
    fi
fi
echo "built $pkg"
