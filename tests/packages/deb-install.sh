#!/usr/bin/env bash
# The .deb packages installed on this machine as a person would (apt-get install ./…deb), used,
# and removed: called by `bash scripts/test.sh packages` after scripts/package.sh.
#   bash tests/packages/deb-install.sh dist/kompira-tray_<v>_amd64.deb dist/kompira-tools_<v>_amd64.deb
# Needs root. A /opt/kompira/kompira.conf of the machine is set aside and put back at the end.
# Checks: dependencies (WebKitGTK for the app, no GUI library for the tools), both programs of
# each package run, the desktop entry validates, the icons are in hicolor, nothing is put in
# /etc/xdg/autostart, an event sent by the installed kompira_sendevt reaches io_queue, and
# /opt/kompira/kompira.conf behaves as a conffile: an existing one is not replaced by the first
# install, a changed one survives reinstall and removal, purge deletes it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

tray_deb="$(realpath "$1")"
tools_deb="$(realpath "$2")"
conf=/opt/kompira/kompira.conf
scratch="$(mktemp -d)"
failures=0

fail() {
    echo "deb-install: FAIL: $*" >&2
    failures=$((failures + 1))
}
apt_quiet() {
    DEBIAN_FRONTEND=noninteractive apt-get "$@" </dev/null >"$scratch/apt.log" 2>&1 || {
        echo "deb-install: 'apt-get $*' failed:" >&2
        tail -15 "$scratch/apt.log" >&2
        return 1
    }
}
# desktop-file-validate (desktop-file-utils) is not on a fresh machine.
command -v desktop-file-validate >/dev/null 2>&1 || apt_quiet install -y -q --no-install-recommends desktop-file-utils ||
    { echo "deb-install: FAIL: desktop-file-utils cannot be installed" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || { echo "deb-install: needs root (apt-get install)" >&2; exit 1; }
for package in kompira-tray kompira-tools; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)" == installed ]]; then
        echo "deb-install: $package is already installed on this machine; this test installs and removes its own build: 'apt-get remove $package' first" >&2
        exit 1
    fi
done
if [[ -e "$conf" ]]; then
    cp -a "$conf" "$scratch/machine-kompira.conf"
fi
cleanup() {
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q kompira-tray kompira-tools </dev/null >/dev/null 2>&1 || true
    if [[ -e "$scratch/machine-kompira.conf" ]]; then
        mkdir -p /opt/kompira
        cp -a "$scratch/machine-kompira.conf" "$conf"
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

# --- what the packages declare ---
tray_depends="$(dpkg-deb -f "$tray_deb" Depends)"
tools_depends="$(dpkg-deb -f "$tools_deb" Depends)"
echo "deb-install: kompira-tray Depends: $tray_depends"
echo "deb-install: kompira-tools Depends: $tools_depends"
for library in libwebkit2gtk-4.1-0 libgtk-3-0; do
    grep -q "$library" <<<"$tray_depends" || fail "kompira-tray does not depend on $library"
done
if grep -Eiq 'gtk|webkit|soup|x11' <<<"$tools_depends"; then
    fail "kompira-tools depends on a GUI library: $tools_depends"
fi
dpkg-deb -e "$tools_deb" "$scratch/tools-control"
grep -qx "$conf" "$scratch/tools-control/conffiles" || fail "$conf is not a conffile of kompira-tools"
if grep -q 'etc/xdg/autostart' <<<"$(dpkg-deb -c "$tray_deb")"; then
    fail "kompira-tray ships a system-wide autostart entry (start at login is each user's choice, made in the app)"
fi

# --- an existing kompira.conf is not replaced by the first install ---
rm -f "$conf"
mkdir -p /opt/kompira
printf '# written before kompira-tools was installed\n[kompira]\nsite_id = 7\n' >"$conf"
cp "$conf" "$scratch/before.conf"
apt_quiet install -y "$tray_deb" "$tools_deb"
cmp -s "$conf" "$scratch/before.conf" || fail "the first install replaced an existing $conf"
[[ ! -e "$conf.kompira-tools-keep" ]] || fail "$conf.kompira-tools-keep was left behind"

# --- the installed programs ---
for program in kompira_sendevt kompira kompira-tray-agent kompira-tray; do
    [[ "$(command -v "$program" || true)" == "/usr/bin/$program" ]] || fail "$program is not installed in /usr/bin"
done
sendevt_version="$(kompira_sendevt --version 2>&1)" || fail "kompira_sendevt --version failed: $sendevt_version"
cli_version="$(kompira --version 2>&1)" || fail "kompira --version failed: $cli_version"
agent_version="$(kompira-tray-agent --version 2>&1)" || fail "kompira-tray-agent --version failed: $agent_version"
tray_version="$(kompira-tray --version 2>&1)" || fail "kompira-tray --version failed: $tray_version"
echo "deb-install: installed: $sendevt_version / $cli_version / $agent_version / $tray_version"
if grep -Eiq 'gtk|webkit' <<<"$(ldd /usr/bin/kompira_sendevt /usr/bin/kompira)"; then
    fail "kompira_sendevt or kompira links a GUI library"
fi
if grep -q 'not found' <<<"$(ldd /usr/bin/kompira-tray)"; then
    fail "kompira-tray misses libraries: $(ldd /usr/bin/kompira-tray | grep 'not found' | tr -s ' \n' ' ')"
fi
desktop-file-validate /usr/share/applications/jp.kompira.tray.desktop || fail "the installed desktop entry does not validate"
grep -q '^Name\[ja\]=' /usr/share/applications/jp.kompira.tray.desktop || fail "the desktop entry has no Name[ja]"
for size in 32x32 128x128; do
    [[ -f "/usr/share/icons/hicolor/$size/apps/jp.kompira.tray.png" ]] || fail "no $size icon in hicolor"
done

# An event from the installed kompira_sendevt arrives on io_queue (the local RabbitMQ).
# shellcheck source=tests/packages/io-queue.sh
source tests/packages/io-queue.sh
marker="deb-$$-$RANDOM"
printf '[amqp-connection]\nserver = 127.0.0.1\nport = 5672\nuser = guest\npassword = guest\nssl = false\n' >"$scratch/send.conf"
"$KOMPIRA_TESTKIT" declare-queue >/dev/null
if ! (cd "$scratch" && kompira_sendevt -c "$scratch/send.conf" --logdir "$scratch" source=deb-install "marker=$marker"); then
    fail "the installed kompira_sendevt could not send to the local RabbitMQ"
elif ! arrived "$marker"; then
    fail "the event sent by the installed kompira_sendevt did not arrive on io_queue within 10 s (is another consumer, such as a kompira-sim, taking io_queue messages?)"
fi

# --- a changed kompira.conf survives reinstall and removal; purge deletes it ---
echo "# changed by the administrator" >>"$conf"
cp "$conf" "$scratch/changed.conf"
apt_quiet install -y --reinstall "$tools_deb"
cmp -s "$conf" "$scratch/changed.conf" || fail "reinstalling kompira-tools changed the administrator's $conf"
apt_quiet remove -y kompira-tray kompira-tools
[[ ! -e /usr/bin/kompira_sendevt && ! -e /usr/bin/kompira-tray ]] || fail "apt-get remove left the programs"
[[ ! -e /usr/share/applications/jp.kompira.tray.desktop ]] || fail "apt-get remove left the desktop entry"
cmp -s "$conf" "$scratch/changed.conf" || fail "apt-get remove did not keep the administrator's $conf"
apt_quiet purge -y kompira-tools
[[ ! -e "$conf" ]] || fail "apt-get purge left $conf"

# --- with no kompira.conf, the install puts the example there ---
apt_quiet install -y "$tools_deb"
cmp -s "$conf" packaging/linux/kompira.conf || fail "a fresh install did not put the example kompira.conf in $conf"
apt_quiet purge -y kompira-tools

if ((failures)); then
    echo "deb-install: $failures check(s) failed" >&2
    exit 1
fi
echo "deb-install: ok (both packages installed, used, removed; kompira.conf kept as a conffile)"
