#!/usr/bin/env bash
# Builds the packages people install, into dist/ (git-ignored):
#   bash scripts/package.sh [deb|rpm|msi|all]      (default: all)
# - kompira-tray_<v>_amd64.deb, kompira-tray-<v>-1.x86_64.rpm: the tray app (window and agent,
#   desktop entry, icons); dependencies (WebKitGTK, GTK, ...) read from the programs themselves.
# - kompira-tools_<v>_amd64.deb, kompira-tools-<v>-1.x86_64.rpm: kompira_sendevt and kompira for
#   servers, no GUI libraries, an example /opt/kompira/kompira.conf that is never overwritten.
# - kompira-tray_<v>_x64.msi: all four programs for Windows (cross-built with mingw-w64, packed
#   with wixl).
# Each release build is made once and shared by the packages that hold it. Packing uses the
# distribution's own tools (dpkg-deb, dpkg-shlibdeps, rpmbuild, wixl), installed with apt-get
# when missing: nothing is compiled for packaging and nothing is downloaded but Debian packages.
# Metadata: packaging/linux (desktop entry, deb control files, example kompira.conf),
# packaging/rpm (spec files), packaging/windows (the .wxs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

kind="${1:-all}"
case "$kind" in
    deb | rpm | msi | all) ;;
    *)
        echo "usage: bash scripts/package.sh [deb|rpm|msi|all]" >&2
        exit 2
        ;;
esac
wants() { [[ "$kind" == all || "$kind" == "$1" ]]; }

version="$(awk '/^\[workspace\.package\]/ { inside = 1; next } /^\[/ { inside = 0 }
    inside && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' Cargo.toml)"
[[ -n "$version" ]] || { echo "package.sh: no version in [workspace.package] of Cargo.toml" >&2; exit 1; }
windows_target=x86_64-pc-windows-gnu
work="$PWD/target/packaging"   # staged trees and tool scratch; the packages go to dist/
rm -rf "$work"
mkdir -p "$work" dist

fail() {
    echo "package.sh: $*" >&2
    exit 1
}

# Installs the Debian packages that provide the named commands, when a command is missing.
need() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    ((${#missing[@]})) || return 0
    [[ "$(id -u)" == 0 ]] || fail "missing Debian packages: ${missing[*]} (run as root, or install them)"
    echo "package.sh: installing ${missing[*]}" >&2
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; }; } \
        >"$work/apt.log" 2>&1 || fail "apt-get could not install ${missing[*]} (see $work/apt.log)"
}

# --- Linux ------------------------------------------------------------------------------------
linux_bin=target/release

# Stages the file trees of both Linux packages under $work/root/<package>.
stage_linux() {
    local tray="$work/root/kompira-tray" tools="$work/root/kompira-tools" size
    install -D -m 755 -t "$tray/usr/bin" "$linux_bin/kompira-tray" "$linux_bin/kompira-tray-agent"
    install -D -m 644 packaging/linux/jp.kompira.tray.desktop "$tray/usr/share/applications/jp.kompira.tray.desktop"
    for size in 32x32:icons/32x32.png 128x128:icons/icon.png; do
        install -D -m 644 "${size#*:}" "$tray/usr/share/icons/hicolor/${size%%:*}/apps/jp.kompira.tray.png"
    done
    install -D -m 644 packaging/linux/copyright "$tray/usr/share/doc/kompira-tray/copyright"

    install -D -m 755 -t "$tools/usr/bin" "$linux_bin/kompira_sendevt" "$linux_bin/kompira"
    install -D -m 644 packaging/linux/kompira.conf "$tools/opt/kompira/kompira.conf"
    install -D -m 644 packaging/linux/copyright "$tools/usr/share/doc/kompira-tools/copyright"
    # The symbol tables the release profile leaves (a quarter of each program) are of no use
    # to the people installing it: stripped, as Debian and Fedora strip their packages.
    strip --strip-unneeded "$tray"/usr/bin/* "$tools"/usr/bin/*
}

# The Depends line of the named programs, from the packages of the libraries they link.
shlib_depends() {
    local scratch="$work/shlibdeps"
    mkdir -p "$scratch/debian"
    printf 'Source: kompira-tray\n\nPackage: kompira-tray\nArchitecture: any\n' >"$scratch/debian/control"
    (cd "$scratch" && dpkg-shlibdeps -O "$@" 2>"$scratch/warnings") | sed -n 's/^shlibs:Depends=//p' ||
        fail "dpkg-shlibdeps failed for $*: $(cat "$scratch/warnings")"
}

# Builds dist/<package>_<version>_amd64.deb from the staged tree and packaging/linux/<package>.*
build_deb() {
    local package="$1" tree="$work/deb/$1" depends script
    mkdir -p "$work/deb"
    cp -a "$work/root/$package" "$tree"
    mkdir -p "$tree/DEBIAN"
    depends="$(shlib_depends "$tree"/usr/bin/*)"
    [[ -n "$depends" ]] || fail "no dependencies found for $package (dpkg-shlibdeps said nothing)"
    sed -e "s/@VERSION@/$version/" -e "s/@DEPENDS@/$depends/" \
        -e "s/@INSTALLED_SIZE@/$(du -sk "$tree" | cut -f1)/" \
        "packaging/linux/$package.control" >"$tree/DEBIAN/control"
    if [[ -f "packaging/linux/$package.conffiles" ]]; then
        install -m 644 "packaging/linux/$package.conffiles" "$tree/DEBIAN/conffiles"
    fi
    for script in preinst postinst prerm postrm; do
        if [[ -f "packaging/linux/$package.$script" ]]; then
            install -m 755 "packaging/linux/$package.$script" "$tree/DEBIAN/$script"
        fi
    done
    dpkg-deb --root-owner-group --build "$tree" "dist/${package}_${version}_amd64.deb" >/dev/null
}

# Builds dist/<package>-<version>-1.x86_64.rpm from the staged tree and packaging/rpm/<package>.spec.
build_rpm() {
    local package="$1"
    # xz payload and SHA-256 digests: read by the rpm of RHEL 8 and later. No debuginfo package
    # and no post-install scripts (stage_linux already stripped the programs).
    rpmbuild -bb --quiet --target x86_64 \
        --define "_topdir $work/rpm" --define "_rpmdir $work/rpm/out" \
        --define "kt_version $version" --define "kt_root $work/root/$package" \
        --define "debug_package %{nil}" --define "__os_install_post %{nil}" \
        --define "_build_id_links none" --define "_binary_payload w6.xzdio" \
        "packaging/rpm/$package.spec" >"$work/rpmbuild-$package.log" 2>&1 ||
        fail "rpmbuild failed for $package: $(tail -5 "$work/rpmbuild-$package.log")"
    mv "$work/rpm/out/x86_64/$package-$version-1.x86_64.rpm" dist/
}

# --- Windows ----------------------------------------------------------------------------------
windows_bin="target/$windows_target/release"

build_msi() {
    local stage="$work/msi" exe msi="dist/kompira-tray_${version}_x64.msi"
    mkdir -p "$stage"
    for exe in kompira-tray kompira-tray-agent kompira_sendevt kompira; do
        cp "$windows_bin/$exe.exe" "$stage/"
    done
    # The mingw-built window imports WebView2Loader.dll; webview2-com-sys's build copies the one
    # its crate ships into its OUT_DIR (the newest build's copy is the one linked against).
    local loader
    loader="$(ls -t "$windows_bin"/build/webview2-com-sys-*/out/x64/WebView2Loader.dll 2>/dev/null | head -1)"
    [[ -n "$loader" ]] || fail "no WebView2Loader.dll under $windows_bin/build (webview2-com-sys did not build?)"
    if ! grep -q 'DLL Name: WebView2Loader.dll' <<<"$(x86_64-w64-mingw32-objdump -p "$stage/kompira-tray.exe")"; then
        fail "kompira-tray.exe does not import WebView2Loader.dll any more: check what it needs and update the .wxs"
    fi
    cp "$loader" "$stage/"
    x86_64-w64-mingw32-strip "$stage"/*.exe   # as for Linux (stage_linux)
    cp icons/icon.ico packaging/windows/kompira-tray.wxs packaging/windows/MsiShortcutProperty.idt "$stage/"
    # wixl looks for sources relative to the .wxs, hence the staged copy.
    (cd "$stage" && wixl -a x64 -D Version="$version" -D BinDir=. -D IconDir=. -o kompira-tray.msi kompira-tray.wxs) \
        >"$work/wixl.log" 2>&1 || fail "wixl failed: $(tail -5 "$work/wixl.log")"
    # The shortcut's System.AppUserModel.ID, for which wixl has no element.
    (cd "$stage" && msibuild kompira-tray.msi -i MsiShortcutProperty.idt) || fail "msibuild could not add MsiShortcutProperty"
    mv "$stage/kompira-tray.msi" "$msi"
}

# --- main -------------------------------------------------------------------------------------
built=()
if wants deb || wants rpm; then
    wants deb && need dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev
    wants rpm && need rpmbuild:rpm
    cargo build --release -p kompira-sendevt -p kompira-cli -p kompira-tray-agent -p kompira-tray
    stage_linux
    if wants deb; then
        build_deb kompira-tray
        build_deb kompira-tools
        built+=("dist/kompira-tray_${version}_amd64.deb" "dist/kompira-tools_${version}_amd64.deb")
    fi
    if wants rpm; then
        build_rpm kompira-tray
        build_rpm kompira-tools
        built+=("dist/kompira-tray-$version-1.x86_64.rpm" "dist/kompira-tools-$version-1.x86_64.rpm")
    fi
fi
if wants msi; then
    need wixl:wixl msibuild:msitools x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64
    if ! grep -qx "$windows_target" <<<"$(rustup target list --installed 2>/dev/null)"; then
        rustup target add "$windows_target" >/dev/null 2>&1 || fail "'rustup target add $windows_target' failed"
    fi
    # The command-line programs and the agent with the same package selection as the windows-run
    # suite (so CI builds them once), then the window on its own.
    cargo build --release --target "$windows_target" -p kompira-sendevt -p kompira-cli -p kompira-tray-agent
    cargo build --release --target "$windows_target" -p kompira-tray
    build_msi
    built+=("dist/kompira-tray_${version}_x64.msi")
fi

echo "package.sh: built (size in bytes):"
for file in "${built[@]}"; do
    printf '  %10d  %s\n' "$(stat -c %s "$file")" "$file"
done
