#!/usr/bin/python3
"""Prints every org.reaperd.Events1.Killed signal on the bus at ADDRESS, one line each, for
the D-Bus tests. Usage: killed_listener.py ADDRESS TIMEOUT_S"""
import sys

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

address, timeout_s = sys.argv[1], float(sys.argv[2])
conn = Gio.DBusConnection.new_for_address_sync(
    address,
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None, None)


def on_killed(_conn, sender, path, iface, member, params):
    scope, pid, comm, uid, rss, container, outcome = params.unpack()
    print(f"killed scope={scope} pid={pid} comm={comm} uid={uid} rss_bytes={rss} "
          f"container={container} outcome={outcome} path={path}", flush=True)


conn.signal_subscribe(None, "org.reaperd.Events1", "Killed", "/org/reaperd/Events", None,
                      Gio.DBusSignalFlags.NONE, on_killed)
# A round trip to the bus: the match rule is in place once it returns.
conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
               "GetId", None, None, Gio.DBusCallFlags.NONE, -1, None)
print("listening", flush=True)
loop = GLib.MainLoop()
GLib.timeout_add(int(timeout_s * 1000), loop.quit)
loop.run()
