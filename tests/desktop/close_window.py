#!/usr/bin/python3
"""Closes a process's visible top-level X11 windows the way a window manager's close button
does: a WM_DELETE_WINDOW client message (ICCCM 4.2.8.1), which the app may refuse or turn into
"hide". WebDriver's Close Window cannot stand in: WebKitWebDriver ends the session when the last
window goes, and takes the app's process with it.

Usage: close_window.py PID. Prints how many windows were asked to close; exit 1 if none.
Needs only libX11 (present wherever GTK is), through ctypes.
"""

import ctypes
import ctypes.util
import sys

X = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
Window = ctypes.c_ulong
Atom = ctypes.c_ulong


class XClientMessageEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", Window),
        ("message_type", Atom),
        ("format", ctypes.c_int),
        ("l", ctypes.c_long * 5),
    ]


class XEvent(ctypes.Union):
    _fields_ = [("xclient", XClientMessageEvent), ("pad", ctypes.c_long * 24)]


class XWindowAttributes(ctypes.Structure):
    # Only map_state is read; the rest is laid out to reach it.
    _fields_ = [
        ("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
        ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
        ("root", Window), ("c_class", ctypes.c_int), ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int),
        ("backing_planes", ctypes.c_ulong), ("backing_pixel", ctypes.c_ulong),
        ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int), ("map_state", ctypes.c_int),
        ("all_event_masks", ctypes.c_long), ("your_event_mask", ctypes.c_long),
        ("do_not_propagate_mask", ctypes.c_long), ("override_redirect", ctypes.c_int),
        ("screen", ctypes.c_void_p),
    ]


X.XOpenDisplay.restype = ctypes.c_void_p
X.XOpenDisplay.argtypes = [ctypes.c_char_p]
X.XDefaultRootWindow.restype = Window
X.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
X.XInternAtom.restype = Atom
X.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
X.XQueryTree.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(Window), ctypes.POINTER(Window),
                         ctypes.POINTER(ctypes.POINTER(Window)), ctypes.POINTER(ctypes.c_uint)]
X.XGetWindowProperty.argtypes = [ctypes.c_void_p, Window, Atom, ctypes.c_long, ctypes.c_long, ctypes.c_int,
                                 Atom, ctypes.POINTER(Atom), ctypes.POINTER(ctypes.c_int),
                                 ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong),
                                 ctypes.POINTER(ctypes.c_void_p)]
X.XGetWindowAttributes.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(XWindowAttributes)]
X.XSendEvent.argtypes = [ctypes.c_void_p, Window, ctypes.c_int, ctypes.c_long, ctypes.POINTER(XEvent)]
X.XFlush.argtypes = [ctypes.c_void_p]
X.XFree.argtypes = [ctypes.c_void_p]

CLIENT_MESSAGE = 33
IS_VIEWABLE = 2
XA_CARDINAL = 6


def pid_of(display, window, net_wm_pid):
    kind, fmt, count, rest, data = Atom(), ctypes.c_int(), ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
    ok = X.XGetWindowProperty(display, window, net_wm_pid, 0, 1, False, XA_CARDINAL,
                              ctypes.byref(kind), ctypes.byref(fmt), ctypes.byref(count),
                              ctypes.byref(rest), ctypes.byref(data))
    if ok != 0 or not data.value or count.value == 0:
        return None
    pid = ctypes.cast(data, ctypes.POINTER(ctypes.c_ulong))[0]
    X.XFree(data)
    return pid


def main():
    pid = int(sys.argv[1])
    display = X.XOpenDisplay(None)
    if not display:
        sys.exit("cannot open the X display")
    root = X.XDefaultRootWindow(display)
    net_wm_pid = X.XInternAtom(display, b"_NET_WM_PID", False)
    protocols = X.XInternAtom(display, b"WM_PROTOCOLS", False)
    delete = X.XInternAtom(display, b"WM_DELETE_WINDOW", False)
    parent, root_ret, children, n = Window(), Window(), ctypes.POINTER(Window)(), ctypes.c_uint()
    X.XQueryTree(display, root, ctypes.byref(root_ret), ctypes.byref(parent), ctypes.byref(children), ctypes.byref(n))
    closed = 0
    for i in range(n.value):
        w = children[i]
        attrs = XWindowAttributes()
        if X.XGetWindowAttributes(display, w, ctypes.byref(attrs)) == 0 or attrs.map_state != IS_VIEWABLE:
            continue
        if pid_of(display, w, net_wm_pid) != pid:
            continue
        event = XEvent()
        event.xclient.type = CLIENT_MESSAGE
        event.xclient.window = w
        event.xclient.message_type = protocols
        event.xclient.format = 32
        event.xclient.l[0] = delete
        X.XSendEvent(display, w, False, 0, ctypes.byref(event))
        closed += 1
    X.XFlush(display)
    print(closed)
    sys.exit(0 if closed else 1)


if __name__ == "__main__":
    main()
