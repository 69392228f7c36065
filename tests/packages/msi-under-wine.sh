#!/usr/bin/env bash
# The Windows installer installed, used and uninstalled under Wine (scripts/wine-env.sh): called
# by `bash scripts/test.sh packages` after scripts/package.sh.
#   bash tests/packages/msi-under-wine.sh dist/kompira-tray_<v>_x64.msi
# Checks: the MSI carries the shortcut's System.AppUserModel.ID; `msiexec /i /qn` puts the four
# programs in C:\Program Files\Kompira Tray, the Start-menu shortcut and the AppUserModelId
# registry key; the installed kompira_sendevt.exe sends an event that reaches io_queue on the
# local RabbitMQ, with a C:\Kompira\kompira.conf written here; `msiexec /x /qn` removes the
# programs, the shortcut and the key, and leaves C:\Kompira and %LOCALAPPDATA%\Kompira alone.
# Wine does not apply MsiShortcutProperty to the .lnk it writes, so the shortcut's id is checked
# in the MSI's table. Prints SKIPPED (exit 0) only when Wine cannot be set up here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

msi="$(realpath "$1")"
if [[ -z "${KOMPIRA_TESTKIT:-}" ]]; then
    # shellcheck source=scripts/setup.sh
    source scripts/setup.sh
fi
# shellcheck source=scripts/wine-env.sh
source scripts/wine-env.sh
if ! kt_wine_ready; then
    echo "msi-under-wine: SKIPPED: Wine cannot run here: $KT_WINE_WHY" >&2
    exit 0
fi

drive_c="$KT_WINE_DRIVE_C"
# (kt_wine_ready put the bcryptprimitives.dll stand-in every Rust program for Windows needs.)
install_dir="$drive_c/Program Files/Kompira Tray"
aumid_key='HKLM\Software\Classes\AppUserModelId\jp.kompira.tray'
local_appdata="$(wine cmd /c 'echo %LOCALAPPDATA%' 2>/dev/null | tr -d '\r' || true)"
[[ "$local_appdata" == [A-Za-z]:\\* ]] || { echo "msi-under-wine: FAIL: Wine did not tell %LOCALAPPDATA% (got '$local_appdata')" >&2; exit 1; }
user_data="$(winepath -u "$local_appdata")/Kompira"
machine_conf="$drive_c/Kompira/kompira.conf"
scratch="$(mktemp -d)"
failures=0
fail() {
    echo "msi-under-wine: FAIL: $*" >&2
    failures=$((failures + 1))
}
[[ -e "$machine_conf" ]] && cp -a "$machine_conf" "$scratch/machine-kompira.conf"
cleanup() {
    wine msiexec /x "$msi" /qn >/dev/null 2>&1 || true
    rm -f "$machine_conf" "$user_data/packages-test-keep.txt"
    [[ -e "$scratch/machine-kompira.conf" ]] && cp -a "$scratch/machine-kompira.conf" "$machine_conf"
    rm -rf "$scratch"
    kt_wine_stop
}
trap cleanup EXIT

shortcut_property="$(msiinfo export "$msi" MsiShortcutProperty 2>/dev/null | tail -n +4 || true)"
[[ "$shortcut_property" == *$'KompiraTrayShortcut\tSystem.AppUserModel.ID\tjp.kompira.tray'* ]] ||
    fail "the MSI does not set System.AppUserModel.ID on its shortcut (MsiShortcutProperty: '${shortcut_property}')"

# What the user has before the install, which the installer must leave alone.
mkdir -p "$user_data" "$(dirname "$machine_conf")"
echo "kept across uninstall" >"$user_data/packages-test-keep.txt"
printf '[amqp-connection]\r\nserver = 127.0.0.1\r\nport = 5672\r\nuser = guest\r\npassword = guest\r\nssl = false\r\n' >"$machine_conf"
cp "$machine_conf" "$scratch/test-kompira.conf"

# --- install ---
wine msiexec /i "$msi" /qn >"$scratch/install.log" 2>&1 || fail "msiexec /i failed: $(tail -3 "$scratch/install.log")"
for exe in kompira-tray.exe kompira-tray-agent.exe kompira_sendevt.exe kompira.exe WebView2Loader.dll; do
    [[ -f "$install_dir/$exe" ]] || fail "$exe is not in C:\\Program Files\\Kompira Tray"
done
shortcut="$(find "$drive_c" -path '*Start Menu/Programs/Kompira Tray.lnk' -print -quit)"
[[ -n "$shortcut" ]] || fail "no Start-menu shortcut 'Kompira Tray.lnk'"
aumid="$(wine reg query "$aumid_key" /v DisplayName 2>/dev/null | tr -d '\r' || true)"
[[ "$aumid" == *"DisplayName"*"REG_SZ"*"Kompira Tray"* ]] || fail "$aumid_key has no DisplayName 'Kompira Tray' (reg query said: '$aumid')"

# --- the installed kompira_sendevt.exe sends an event to the local RabbitMQ ---
# shellcheck source=tests/packages/io-queue.sh
source tests/packages/io-queue.sh
marker="msi-$$-$RANDOM"
"$KOMPIRA_TESTKIT" declare-queue >/dev/null
version="$(wine "$install_dir/kompira_sendevt.exe" --version 2>&1 | tr -d '\r')" || fail "kompira_sendevt.exe --version failed: $version"
echo "msi-under-wine: installed $version"
if ! wine "$install_dir/kompira_sendevt.exe" source=msi-under-wine "marker=$marker" >"$scratch/send.log" 2>&1; then
    fail "the installed kompira_sendevt.exe could not send: $(tr -d '\r' <"$scratch/send.log" | tail -3)"
elif ! arrived "$marker"; then
    fail "the event sent by the installed kompira_sendevt.exe did not arrive on io_queue within 10 s (is another consumer, such as a kompira-sim, taking io_queue messages?)"
fi
wine "$install_dir/kompira.exe" --version >/dev/null 2>&1 || fail "the installed kompira.exe --version failed"

# --- uninstall ---
wine msiexec /x "$msi" /qn >"$scratch/uninstall.log" 2>&1 || fail "msiexec /x failed: $(tail -3 "$scratch/uninstall.log")"
[[ ! -e "$install_dir" ]] || fail "uninstalling left C:\\Program Files\\Kompira Tray: $(ls "$install_dir" | tr '\n' ' ')"
[[ -z "$shortcut" || ! -e "$shortcut" ]] || fail "uninstalling left the Start-menu shortcut"
wine reg query "$aumid_key" >/dev/null 2>&1 && fail "uninstalling left $aumid_key"
[[ -f "$user_data/packages-test-keep.txt" ]] || fail "uninstalling removed the user's data in %LOCALAPPDATA%\\Kompira"
cmp -s "$machine_conf" "$scratch/test-kompira.conf" || fail "installing or uninstalling changed C:\\Kompira\\kompira.conf"

if ((failures)); then
    echo "msi-under-wine: $failures check(s) failed" >&2
    exit 1
fi
echo "msi-under-wine: ok (installed, sent an event, uninstalled; C:\\Kompira and %LOCALAPPDATA%\\Kompira kept)"
