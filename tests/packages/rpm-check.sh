#!/usr/bin/env bash
# The .rpm packages read with rpm and installed into a scratch root (`rpm --root`), since this
# machine is Debian: called by `bash scripts/test.sh packages` after scripts/package.sh.
#   bash tests/packages/rpm-check.sh dist/kompira-tray-<v>-1.x86_64.rpm dist/kompira-tools-<v>-1.x86_64.rpm
# Checks: names and version, the files, /opt/kompira/kompira.conf flagged %config(noreplace),
# requires (WebKitGTK and GTK for the app, no GUI library for the tools), no system-wide
# autostart entry, and in the scratch root: the files land, an existing kompira.conf is kept
# (the example goes beside it as .rpmnew), and erasing keeps a changed kompira.conf.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

tray_rpm="$(realpath "$1")"
tools_rpm="$(realpath "$2")"
version="$(awk '/^\[workspace\.package\]/ { inside = 1; next } /^\[/ { inside = 0 }
    inside && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' Cargo.toml)"
conf=/opt/kompira/kompira.conf
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
failures=0
fail() {
    echo "rpm-check: FAIL: $*" >&2
    failures=$((failures + 1))
}

# --- what the packages declare ---
for rpm_file in "$tray_rpm" "$tools_rpm"; do
    rpm -qip "$rpm_file" 2>/dev/null | sed -n 's/^\(Name\|Version\|Release\|Architecture\|Size\) *: */rpm-check:   \1: /p'
done
[[ "$(rpm -qp --qf '%{NAME} %{VERSION} %{ARCH}' "$tray_rpm" 2>/dev/null)" == "kompira-tray $version x86_64" ]] ||
    fail "$tray_rpm is not kompira-tray $version x86_64"
[[ "$(rpm -qp --qf '%{NAME} %{VERSION} %{ARCH}' "$tools_rpm" 2>/dev/null)" == "kompira-tools $version x86_64" ]] ||
    fail "$tools_rpm is not kompira-tools $version x86_64"

tray_files="$(rpm -qlp "$tray_rpm" 2>/dev/null)"
tools_files="$(rpm -qlp "$tools_rpm" 2>/dev/null)"
for file in /usr/bin/kompira-tray /usr/bin/kompira-tray-agent /usr/share/applications/jp.kompira.tray.desktop \
    /usr/share/icons/hicolor/128x128/apps/jp.kompira.tray.png; do
    grep -qx "$file" <<<"$tray_files" || fail "kompira-tray does not hold $file"
done
for file in /usr/bin/kompira_sendevt /usr/bin/kompira "$conf"; do
    grep -qx "$file" <<<"$tools_files" || fail "kompira-tools does not hold $file"
done
grep -q autostart <<<"$tray_files" && fail "kompira-tray ships an autostart entry (start at login is each user's choice)"

# %config(noreplace) shows as the flags "cn" (config, noreplace).
flags="$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$tools_rpm" 2>/dev/null | awk -v f="$conf" '$1 == f { print $2 }')"
[[ "$flags" == *c* && "$flags" == *n* ]] || fail "$conf is not %config(noreplace) in kompira-tools (flags: '${flags:-none}')"

tray_requires="$(rpm -qpR "$tray_rpm" 2>/dev/null)"
tools_requires="$(rpm -qpR "$tools_rpm" 2>/dev/null)"
for library in 'libwebkit2gtk-4.1.so.0' 'libgtk-3.so.0'; do
    grep -q "^$library" <<<"$tray_requires" || fail "kompira-tray does not require $library"
done
if grep -Eiq 'gtk|webkit|soup' <<<"$tools_requires"; then
    fail "kompira-tools requires a GUI library: $(grep -Ei 'gtk|webkit|soup' <<<"$tools_requires" | tr '\n' ' ')"
fi
newest_glibc="$(grep -o 'GLIBC_[0-9.]*' <<<"$tray_requires"$'\n'"$tools_requires" | sort -V | tail -1 || true)"
echo "rpm-check: the programs need glibc ${newest_glibc#GLIBC_} or later (RHEL 9 has 2.34)"

# --- installed into a scratch root ---
mkdir -p "$root$(dirname "$conf")"
printf '# there before kompira-tools\n[kompira]\nsite_id = 7\n' >"$root$conf"
cp "$root$conf" "$root/before.conf"
if ! rpm --root "$root" -i --nodeps "$tray_rpm" "$tools_rpm" >"$root/rpm.log" 2>&1; then
    fail "rpm --root -i failed: $(tail -5 "$root/rpm.log")"
else
    for file in /usr/bin/kompira-tray /usr/bin/kompira-tray-agent /usr/bin/kompira_sendevt /usr/bin/kompira; do
        [[ -x "$root$file" ]] || fail "$file is not installed (or not executable) in the scratch root"
    done
    cmp -s "$root$conf" "$root/before.conf" || fail "installing kompira-tools replaced an existing $conf"
    cmp -s "$root$conf.rpmnew" packaging/linux/kompira.conf || fail "the example did not land beside it as $conf.rpmnew"
    "$root/usr/bin/kompira_sendevt" --version >/dev/null || fail "the kompira_sendevt in the scratch root does not run"
    echo "# changed by the administrator" >>"$root$conf"
    cp "$root$conf" "$root/changed.conf"
    rpm --root "$root" -e kompira-tray kompira-tools >"$root/rpm.log" 2>&1 || fail "rpm --root -e failed: $(tail -5 "$root/rpm.log")"
    [[ ! -e "$root/usr/bin/kompira_sendevt" && ! -e "$root/usr/bin/kompira-tray" ]] || fail "rpm -e left the programs"
    cmp -s "$root$conf" "$root/changed.conf" || [[ -f "$root$conf.rpmsave" ]] ||
        fail "rpm -e did not keep the administrator's $conf (neither in place nor as .rpmsave)"
fi

if ((failures)); then
    echo "rpm-check: $failures check(s) failed" >&2
    exit 1
fi
echo "rpm-check: ok (metadata, %config(noreplace), requires, install and erase in a scratch root)"
