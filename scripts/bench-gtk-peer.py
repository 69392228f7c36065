#!/usr/bin/python3
"""The native peer of the window-open benchmark (scripts/bench-app.sh --window-open): a plain
GTK 3 window of the same size, opened the ways the tray opens ours. It prints
`painted <unix_ms>` after the first frame it draws once shown: at start (cold), and after each
`show` line on stdin (warm; `hide` hides it). Debian's python3-gi, so /usr/bin/python3."""

import sys
import time

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk  # noqa: E402


def painted_after_show(window):
    window.show_all()
    clock = window.get_frame_clock()

    def after_paint(frame_clock):
        # The frame clock's paint phase is over: this frame is on screen.
        frame_clock.disconnect(handler[0])
        print(f"painted {int(time.time() * 1000)}", flush=True)

    handler = [clock.connect("after-paint", after_paint)]


def on_line(channel, _condition, window):
    line = channel.readline().strip()
    if line == "show":
        painted_after_show(window)
    elif line == "hide":
        window.hide()
    elif line in ("", "quit"):
        Gtk.main_quit()
        return False
    return True


def main():
    window = Gtk.Window(title="GTK peer")
    window.set_default_size(520, 640)
    window.add(Gtk.Label(label="Kompira Tray benchmark peer"))
    channel = GLib.IOChannel.unix_new(sys.stdin.fileno())
    GLib.io_add_watch(channel, GLib.IO_IN | GLib.IO_HUP, on_line, window)
    painted_after_show(window)
    Gtk.main()


if __name__ == "__main__":
    main()
