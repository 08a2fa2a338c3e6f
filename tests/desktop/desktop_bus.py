#!/usr/bin/python3
"""The desktop's side of the session bus for the window test, as small as the specs allow.

Under Xvfb there is no desktop: nothing shows notifications and nothing hosts tray icons. This
stands in for both, so the app talks to them exactly as it would on a real desktop:

- org.freedesktop.Notifications (Desktop Notifications Specification 1.2): accepts Notify and
  appends each notification to NOTIFY_LOG as one JSON line.
- org.kde.StatusNotifierWatcher (StatusNotifierItem specification): accepts the tray icon's
  registration and appends `{"service", "sender"}` to TRAY_LOG, so the test can read the icon's
  menu (com.canonical.dbusmenu) from the app over the bus.

Usage: desktop_bus.py NOTIFY_LOG TRAY_LOG. Prints "ready" once both names are owned.
Debian packages: python3-dbus, python3-gi.
"""

import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NOTIFICATIONS = "org.freedesktop.Notifications"
WATCHER = "org.kde.StatusNotifierWatcher"


def append(path, record):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")


class Notifications(dbus.service.Object):
    def __init__(self, bus, log):
        super().__init__(bus, "/org/freedesktop/Notifications")
        self.log = log
        self.last_id = 0

    @dbus.service.method(NOTIFICATIONS, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, icon, summary, body, actions, hints, timeout):
        self.last_id += 1
        append(self.log, {"app": str(app_name), "summary": str(summary), "body": str(body)})
        return self.last_id

    @dbus.service.method(NOTIFICATIONS, out_signature="as")
    def GetCapabilities(self):
        return ["body"]

    @dbus.service.method(NOTIFICATIONS, out_signature="ssss")
    def GetServerInformation(self):
        return ["station-test", "station", "1", "1.2"]

    @dbus.service.method(NOTIFICATIONS, in_signature="u")
    def CloseNotification(self, notification_id):
        self.NotificationClosed(notification_id, 3)

    @dbus.service.signal(NOTIFICATIONS, signature="uu")
    def NotificationClosed(self, notification_id, reason):
        pass


class Watcher(dbus.service.Object):
    def __init__(self, bus, log):
        super().__init__(bus, "/StatusNotifierWatcher")
        self.log = log
        self.items = []

    @dbus.service.method(WATCHER, in_signature="s", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        self.items.append(str(service))
        append(self.log, {"service": str(service), "sender": str(sender)})
        self.StatusNotifierItemRegistered(service)

    @dbus.service.method(WATCHER, in_signature="s")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemRegistered(self, service):
        pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        return self.GetAll(interface)[name]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return {
            "RegisteredStatusNotifierItems": dbus.Array(self.items, signature="s"),
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "ProtocolVersion": dbus.Int32(0),
        }


def main():
    notify_log, tray_log = sys.argv[1], sys.argv[2]
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    names = [dbus.service.BusName(n, bus, do_not_queue=True) for n in (NOTIFICATIONS, WATCHER)]
    objects = [Notifications(bus, notify_log), Watcher(bus, tray_log)]
    print("ready", flush=True)
    GLib.MainLoop().run()
    del names, objects


if __name__ == "__main__":
    main()
