#!/usr/bin/python3
"""A GLib application as GNOME's are, for the D-Bus tests: Gio.MemoryMonitor (its D-Bus
backend, on the bus DBUS_SYSTEM_BUS_ADDRESS names) tells it of low memory and it frees memory
in answer. It holds FIRST MiB; the first warning (any level) frees them, and a moment later it
holds SECOND MiB, which it frees on a warning of level 100 or more ("try harder"). One line
per step on stdout. Usage: glib_memory_client.py FIRST SECOND TIMEOUT_S"""
import sys

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

MIB = 1 << 20
first_mib, second_mib, timeout_s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
state = {"phase": "starting", "buf": None}
loop = GLib.MainLoop()


def say(text):
    print(text, flush=True)


def fill(mib):
    # Repeating a byte writes every page: the memory is resident, charged to our cgroup.
    return bytearray(b"\x5a") * (mib * MIB)


def grow_second():
    state["buf"] = fill(second_mib)
    state["phase"] = "second"
    say(f"holding mib={second_mib}")
    return GLib.SOURCE_REMOVE


def on_warning(_monitor, level):
    level = int(level)
    say(f"warning level={level}")
    if state["phase"] == "first":
        state["buf"] = None
        state["phase"] = "between"
        say(f"freed mib={first_mib} level={level}")
        GLib.timeout_add(300, grow_second)
    elif state["phase"] == "second" and level >= 100:
        state["buf"] = None
        state["phase"] = "done"
        say(f"freed mib={second_mib} level={level}")
        GLib.timeout_add(2000, loop.quit)


monitor = Gio.MemoryMonitor.dup_default()
say(f"monitor {type(monitor).__name__}")
monitor.connect("low-memory-warning", on_warning)

# The monitor's proxy is set up asynchronously once the name has an owner; a proxy of our
# own on the same connection, made after it, is ready no earlier.
ready = Gio.DBusProxy.new_for_bus_sync(
    Gio.BusType.SYSTEM, Gio.DBusProxyFlags.DO_NOT_AUTO_START, None,
    "org.freedesktop.LowMemoryMonitor", "/org/freedesktop/LowMemoryMonitor",
    "org.freedesktop.LowMemoryMonitor", None)
say(f"owner {ready.get_name_owner()}")


def start():
    state["buf"] = fill(first_mib)
    state["phase"] = "first"
    say(f"holding mib={first_mib}")
    return GLib.SOURCE_REMOVE


GLib.timeout_add(500, start)
GLib.timeout_add(int(timeout_s * 1000), loop.quit)
loop.run()
say("exit")
