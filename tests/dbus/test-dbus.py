#!/usr/bin/python3
# The daemon's D-Bus side on real buses: io.extupdated.Daemon1, notifications through dunst, NetworkManager and logind stand-ins.
"""Usage: test-dbus.py EXTUPDATED [unittest options]

Everything is real but the two system services: the registry harness (tests/registry), private
dbus-daemons for the session and the system bus (a session-style config with nothing
activatable, so a notification server appears only when a test starts one), dunst under Xvfb as
the notification server (read back with dunstctl), and the real extupdated binary. This process
holds the NetworkManager and logind stand-ins on the private system bus (python's dbus module)
and serves them whenever it waits. TEST_DBUS_VERBOSE=1 prints each daemon's stderr when it stops.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("EXTUPDATED_TESTS") or os.path.dirname(HERE)
SOURCE = os.path.dirname(TESTS)
sys.path.insert(0, os.path.join(TESTS, "registry"))

import harness  # noqa: E402
import images  # noqa: E402

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)

NAME = "io.extupdated.Daemon1"
PATH = "/io/extupdated/Daemon1"
IFACE = "io.extupdated.Daemon1"
PROPS = "org.freedesktop.DBus.Properties"
NOTIFICATIONS = "org.freedesktop.Notifications"
NM = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
LOGIN1 = "org.freedesktop.login1"
LOGIN1_PATH = "/org/freedesktop/login1"
LOGIN1_MANAGER = "org.freedesktop.login1.Manager"
TIMEOUT = 30

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{listen}</listen>
  <auth>EXTERNAL</auth>
  {servicedir}
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# Duplicates are not stacked, so a repeated notification counts as one more.
DUNSTRC = """[global]
    stack_duplicates = false
    history_length = 100
    notification_limit = 0
"""

EXE = None
H = None
REG = None
WORK = None
XVFB = None
DISPLAY = None


def labels(title, version):
    return {"labels": images.extension_labels(title, version, api=">= 0.2.0")}


SEED = {"repositories": {
    "acme/disk": {"tags": {"0.2.7": labels("Disk usage", "0.2.7"), "0.2.8": labels("Disk usage", "0.2.8")}},
    "acme/logs": {"tags": {"1.0.0": labels("Logs Explorer", "1.0.0"), "1.1.0": labels("Logs Explorer", "1.1.0")}},
    "acme/solo": {"tags": {"3.0.0": labels("Solo", "3.0.0")}},
}}


def repo(name):
    return "%s/%s" % (REG, name)


def pump(seconds=0.0):
    """Serves this process's bus connections (signals, the stand-ins' methods) for a while."""
    ctx = GLib.MainContext.default()
    end = time.monotonic() + seconds
    while True:
        while ctx.pending():
            ctx.iteration(False)
        if time.monotonic() >= end:
            return
        time.sleep(0.01)


def wait_for(what, pred, timeout=TIMEOUT):
    end = time.monotonic() + timeout
    while True:
        pump()
        value = pred()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.02)


def stop_pid(pid):
    """SIGTERM to a process that is not our child, and its end."""
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().split(") ")[-1].startswith("Z"):
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError("process %d did not stop within 10 s of SIGTERM" % pid)


class PrivateBus:
    """A dbus-daemon of our own with nothing activatable; on a socket of its choice, or at path."""

    def __init__(self, name, servicedir=None, path=None):
        self.dir = tempfile.mkdtemp(prefix="bus-", dir=WORK)
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONFIG.format(listen="unix:path=%s" % path if path else "unix:dir=%s" % self.dir,
                                      servicedir="<servicedir>%s</servicedir>" % servicedir if servicedir else ""))
        self.proc = subprocess.Popen(["dbus-daemon", "--config-file", conf, "--nofork", "--print-address=1"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.address = self.proc.stdout.readline().strip()
        if not self.address:
            raise RuntimeError("dbus-daemon for the %s bus gave no address" % name)
        self.conn = dbus.bus.BusConnection(self.address)

    def has_owner(self, name):
        return bool(self.conn.name_has_owner(name))

    def stop(self):
        if self.proc.poll() is None:
            self.conn.close()
            self.proc.terminate()
            self.proc.wait(10)


class BusAddress:
    """The address of whatever bus listens at path, as desktops set it: without the guid of one bus
    daemon (a bus that comes back is a new daemon with a new guid)."""

    def __init__(self, path):
        self.address = "unix:path=" + path


class NetworkManager(dbus.service.Object):
    """org.freedesktop.NetworkManager's Metered property and its PropertiesChanged."""

    def __init__(self, bus, metered):
        self.metered = metered
        self.reads = 0
        self.name = dbus.service.BusName(NM, bus.conn)
        super().__init__(bus.conn, NM_PATH)

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        self.reads += 1
        if interface == NM and prop == "Metered":
            return dbus.UInt32(self.metered)
        raise dbus.exceptions.DBusException("no property %s" % prop, name="org.freedesktop.DBus.Error.UnknownProperty")

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        self.reads += 1
        return {"Metered": dbus.UInt32(self.metered)}

    @dbus.service.signal(PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, interface, changed, invalidated):
        pass

    def set_metered(self, value):
        self.metered = value
        self.PropertiesChanged(NM, {"Metered": dbus.UInt32(value), "Connectivity": dbus.UInt32(4)}, [])


class Logind(dbus.service.Object):
    def __init__(self, bus):
        self.name = dbus.service.BusName(LOGIN1, bus.conn)
        super().__init__(bus.conn, LOGIN1_PATH)

    @dbus.service.signal(LOGIN1_MANAGER, signature="b")
    def PrepareForSleep(self, start):
        pass


class Dunst:
    def __init__(self, bus, home):
        os.makedirs(os.path.join(home, "dunst"), exist_ok=True)
        conf = os.path.join(home, "dunst", "dunstrc")
        with open(conf, "w") as f:
            f.write(DUNSTRC)
        self.env = dict(os.environ, DISPLAY=DISPLAY, DBUS_SESSION_BUS_ADDRESS=bus.address, HOME=home)
        self.proc = subprocess.Popen(["dunst", "-config", conf], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for("dunst on the bus", lambda: bus.has_owner(NOTIFICATIONS))

    def ctl(self, *args):
        return subprocess.run(["dunstctl", *args], env=self.env, check=True, capture_output=True, text=True).stdout

    def count(self):
        total = 0
        for line in self.ctl("count").splitlines():
            total += int(line.split(":")[1])
        return total

    def received(self):
        """(summary, body) of everything received, oldest first."""
        self.ctl("close-all")
        history = json.loads(self.ctl("history"))["data"][0]
        return [(n["summary"]["data"], n["body"]["data"]) for n in sorted(history, key=lambda n: n["id"]["data"])]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def canonical_interface(xml_text):
    """The interface's methods, properties and signals with their arguments, comparable as a set."""
    root = ET.fromstring(xml_text)
    iface = [i for i in root.findall("interface") if i.get("name") == IFACE]
    if len(iface) != 1:
        raise AssertionError("no single interface %s in the XML" % IFACE)
    members = set()
    for m in iface[0]:
        args = tuple((a.get("name"), a.get("type"), a.get("direction") or ("in" if m.tag == "method" else None))
                     for a in m.findall("arg"))
        annotations = tuple(sorted((a.get("name"), a.get("value")) for a in m.findall("annotation")))
        members.add((m.tag, m.get("name"), m.get("type"), m.get("access"), args, annotations))
    return members


class Daemon:
    """The real extupdated, with its own config, allow-list, inventory and state."""

    def __init__(self, case, session=None, system=None, config=None, installed=None, extra_args=(), state=None,
                 repositories=("acme/disk", "acme/logs", "acme/solo")):
        self.dir = tempfile.mkdtemp(prefix="daemon-", dir=WORK)
        self.state = state or os.path.join(self.dir, "state")
        allow = os.path.join(self.dir, "extensions.txt")
        with open(allow, "w") as f:
            f.write("".join("%s\n" % repo(n) for n in repositories))
        cfg = {"allowlist": [allow], "extension_api_version": "0.3.4", "platform": "linux/amd64",
               "installed_source": "api"}
        cfg.update(config or {})
        self.config = os.path.join(self.dir, "config.json")
        with open(self.config, "w") as f:
            json.dump(cfg, f)
        runtime = os.path.join(self.dir, "run")
        os.makedirs(runtime, mode=0o700)
        self.env = dict(os.environ, HOME=self.dir, XDG_RUNTIME_DIR=runtime,
                        XDG_CONFIG_HOME=os.path.join(self.dir, "config"),
                        DBUS_SESSION_BUS_ADDRESS=session.address if session else "unix:path=%s/no-bus" % self.dir,
                        DBUS_SYSTEM_BUS_ADDRESS=system.address if system else "unix:path=%s/no-bus" % self.dir,
                        PATH="/nonexistent:" + os.environ.get("PATH", ""))
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.pop("JOURNAL_STREAM", None)
        self.api_socket = os.path.join(runtime, "api.sock")
        self.args = [EXE, "--config", self.config, "--state-dir", self.state, "--socket", self.api_socket,
                     *extra_args]
        self.log = os.path.join(self.dir, "stderr.log")
        if installed is not None:
            self.import_inventory(installed)
        self.proc = None
        case.addCleanup(self.stop)

    def import_inventory(self, installed):
        """The inventory goes in through `--once --installed` over an empty allow-list: the state then
        holds it and one finished scan of nothing, so the daemon does not scan at start."""
        inv = os.path.join(self.dir, "installed.json")
        with open(inv, "w") as f:
            json.dump({repo(k): v for k, v in installed.items()}, f)
        empty = os.path.join(self.dir, "empty.txt")
        open(empty, "w").close()
        cfg = os.path.join(self.dir, "import.json")
        with open(cfg, "w") as f:
            json.dump({"allowlist": [empty], "extension_api_version": "0.3.4"}, f)
        with open(self.log, "a") as err:
            subprocess.run([EXE, "--once", "--config", cfg, "--state-dir", self.state, "--installed", inv],
                           env=self.env, stdout=subprocess.DEVNULL, stderr=err, check=True, timeout=60)

    def start(self):
        with open(self.log, "a") as err:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=subprocess.DEVNULL, stderr=err)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("extupdated did not stop within 10 s of SIGTERM")
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        log = self.stderr()
        if os.environ.get("TEST_DBUS_VERBOSE"):
            sys.stderr.write("--- extupdated stderr:\n%s---\n" % log)
        # Under the sanitizer build, a report is a failure even when the exit status hides it.
        if "runtime error:" in log or "Sanitizer" in log:
            raise AssertionError("extupdated's sanitizers reported:\n" + log)
        return rc

    def stderr(self):
        if not os.path.exists(self.log):
            return ""
        with open(self.log) as f:
            return f.read()

    def db(self, sql):
        con = sqlite3.connect(os.path.join(self.state, "state.db"))
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def finished_scans(self):
        try:
            return self.db("SELECT count(*) FROM scans WHERE finished_at IS NOT NULL")[0][0]
        except sqlite3.Error:
            return 0


class Client:
    """A session bus client of io.extupdated.Daemon1 that records its signals."""

    def __init__(self, bus):
        self.bus = bus
        self.signals = []
        self.changes = []
        bus.conn.add_signal_receiver(self._signal, dbus_interface=IFACE, path=PATH, member_keyword="member")
        bus.conn.add_signal_receiver(self._changed, signal_name="PropertiesChanged", dbus_interface=PROPS, path=PATH)

    def _signal(self, *args, member=None):
        self.signals.append((str(member), tuple(int(a) if isinstance(a, int) else str(a) for a in args)))

    def _changed(self, interface, changed, invalidated):
        if interface == IFACE:
            self.changes.append({str(k): v for k, v in changed.items()})

    def wait_name(self):
        wait_for("%s on the session bus" % NAME, lambda: self.bus.has_owner(NAME))
        obj = self.bus.conn.get_object(NAME, PATH, introspect=False)
        self.daemon = dbus.Interface(obj, IFACE)
        self.props = dbus.Interface(obj, PROPS)
        self.introspectable = dbus.Interface(obj, "org.freedesktop.DBus.Introspectable")
        return self

    def get(self, prop):
        return self.props.Get(IFACE, prop)

    def named(self, member):
        return [args for m, args in self.signals if m == member]

    def wait_scan_finished(self, count=1):
        return wait_for("%d ScanFinished signal(s)" % count,
                        lambda: len(self.named("ScanFinished")) >= count and self.named("ScanFinished"))

    def scan(self):
        """Scan() and its ScanFinished."""
        before = len(self.named("ScanFinished"))
        self.daemon.Scan()
        return self.wait_scan_finished(before + 1)[-1]


class DBusTestCase(unittest.TestCase):
    def session(self, path=None):
        bus = PrivateBus("session", path=path)
        self.addCleanup(bus.stop)
        return bus

    def system(self, path=None):
        bus = PrivateBus("system", path=path)
        self.addCleanup(bus.stop)
        return bus

    def dunst(self, bus):
        home = tempfile.mkdtemp(prefix="dunst-", dir=WORK)
        d = Dunst(bus, home)
        self.addCleanup(d.stop)
        return d


INSTALLED = {"acme/disk": "0.2.7", "acme/logs": "1.0.0"}
DISK_LINE = "Disk usage 0.2.8 is available (installed 0.2.7)"
LOGS_LINE = "Logs Explorer 1.1.0 is available (installed 1.0.0)"


class Daemon1Test(DBusTestCase):
    def test_interface(self):
        bus = self.session()
        client = Client(bus)
        d = Daemon(self, session=bus, installed=INSTALLED).start()
        client.wait_name()

        with open(os.path.join(SOURCE, "data", "io.extupdated.Daemon1.xml")) as f:
            self.assertEqual(canonical_interface(str(client.introspectable.Introspect())),
                             canonical_interface(f.read()))
        self.assertEqual(str(client.get("ExtensionApiVersion")), "0.3.4")

        # The first scan of these repositories: an UpdateAvailable for each update, then ScanFinished, and
        # properties that follow.
        self.assertEqual(client.scan(), (3, 2, 0))
        self.assertEqual(sorted(client.named("UpdateAvailable")),
                         [(repo("acme/disk"), "0.2.7", "0.2.8", "Disk usage"),
                          (repo("acme/logs"), "1.0.0", "1.1.0", "Logs Explorer")])
        self.assertEqual(str(client.get("State")), "idle")
        self.assertEqual(int(client.get("UpdateCount")), 2)
        finished_at = d.db("SELECT finished_at FROM scans WHERE finished_at IS NOT NULL ORDER BY id DESC")[0][0]
        last = int(client.get("LastScan"))
        self.assertEqual(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last // 1000000)), finished_at)
        self.assertEqual(last % 1000000, 0)
        # PropertiesChanged may follow ScanFinished: wait for each change rather than look once.
        wait_for("State idle announced", lambda: any(str(c.get("State", "")) == "idle" for c in client.changes))
        # LastScan is announced when it moves. The scan before this daemon (the inventory's --once) may have
        # ended in the same second as this one: then the value never moved and there is nothing to announce.
        finished = [row[0] for row in d.db("SELECT finished_at FROM scans WHERE finished_at IS NOT NULL ORDER BY id")]
        if len(finished) < 2 or finished[-2] != finished_at:
            wait_for("LastScan announced",
                     lambda: any("LastScan" in c and int(c["LastScan"]) == last for c in client.changes))
        wait_for("UpdateCount announced",
                 lambda: any("UpdateCount" in c and int(c["UpdateCount"]) == 2 for c in client.changes))

        self.assertEqual(sorted(tuple(str(x) for x in u) for u in client.daemon.ListUpdates()),
                         [(repo("acme/disk"), "0.2.7", "0.2.8", "Disk usage"),
                          (repo("acme/logs"), "1.0.0", "1.1.0", "Logs Explorer")])

        # A scan asked for over the bus: State goes scanning and back, ScanFinished again.
        client.changes.clear()
        self.assertEqual(client.scan(), (3, 2, 0))
        self.assertEqual([str(c["State"]) for c in client.changes if "State" in c], ["scanning", "idle"])

        # The inventory through the bus: a new installed version becomes an update at the next scan.
        client.daemon.SetInstalled(repo("acme/solo"), "2.9.0")
        client.signals.clear()
        self.assertEqual(client.scan(), (3, 3, 0))
        self.assertEqual(client.named("UpdateAvailable"), [(repo("acme/solo"), "2.9.0", "3.0.0", "Solo")])
        self.assertEqual(int(client.get("UpdateCount")), 3)
        self.assertIn((repo("acme/solo"), "2.9.0", "3.0.0", "Solo"),
                      [tuple(str(x) for x in u) for u in client.daemon.ListUpdates()])
        client.daemon.RemoveInstalled(repo("acme/solo"))
        self.assertEqual(d.db("SELECT count(*) FROM installed WHERE repository = '%s'" % repo("acme/solo"))[0][0], 0)

        # Bad arguments: InvalidArgs with a message that says what was wrong.
        for call, args in (("SetInstalled", (repo("acme/solo"), "not-a-version")),
                           ("SetInstalled", ("Not A Repository!", "1.0.0")),
                           ("RemoveInstalled", (repo("acme/solo"),))):
            with self.subTest(call=call, args=args):
                with self.assertRaises(dbus.exceptions.DBusException) as cm:
                    getattr(client.daemon, call)(*args)
                self.assertEqual(cm.exception.get_dbus_name(), "org.freedesktop.DBus.Error.InvalidArgs")
                self.assertTrue(cm.exception.get_dbus_message())
        with self.assertRaises(dbus.exceptions.DBusException) as cm:
            client.daemon.get_dbus_method("SetInstalled")(repo("acme/solo"))
        self.assertEqual(cm.exception.get_dbus_name(), "org.freedesktop.DBus.Error.InvalidArgs")
        self.assertEqual(d.stop(), 0)


    def test_activation(self):
        """The installed activation file, its Exec pointed at this build: a call starts the daemon."""
        build = os.environ.get("EXTUPDATED_BUILD") or os.path.dirname(os.path.dirname(EXE))
        with open(os.path.join(build, "data", "io.extupdated.Daemon1.service")) as f:
            lines = f.read().splitlines()
        self.assertIn("Name=%s" % NAME, lines)
        self.assertIn("SystemdService=extupdated.service", lines)
        services = tempfile.mkdtemp(prefix="services-", dir=WORK)
        d = Daemon(self)
        exec_line = "Exec=" + " ".join(d.args)
        with open(os.path.join(services, "io.extupdated.Daemon1.service"), "w") as f:
            f.write("\n".join(exec_line if line.startswith("Exec=") else line for line in lines) + "\n")
        bus = PrivateBus("session", servicedir=services)
        self.addCleanup(bus.stop)
        self.assertFalse(bus.has_owner(NAME))
        obj = bus.conn.get_object(NAME, PATH, introspect=False)
        state = dbus.Interface(obj, PROPS).Get(IFACE, "State", timeout=TIMEOUT)
        self.assertIn(str(state), ("idle", "scanning"))
        driver = dbus.Interface(bus.conn.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus"),
                                "org.freedesktop.DBus")
        pid = int(driver.GetConnectionUnixProcessID(NAME))
        self.addCleanup(stop_pid, pid)
        wait_for("the activated daemon's scan", lambda: d.finished_scans() >= 1)


class NotificationTest(DBusTestCase):
    def test_each_update_once_ever(self):
        bus = self.session()
        dunst = self.dunst(bus)
        client = Client(bus)
        d = Daemon(self, session=bus, installed=INSTALLED).start()
        client.wait_name().scan()
        wait_for("the first notification", lambda: dunst.count() >= 1)
        pump(1)
        self.assertEqual(dunst.received(), [("2 extension updates available", "%s\n%s" % (DISK_LINE, LOGS_LINE))])
        self.assertEqual(d.db("SELECT count(*) FROM notifications WHERE sent_at IS NULL")[0][0], 0)

        # A restart and a rescan repeat nothing.
        self.assertEqual(d.stop(), 0)
        d.start()
        client.wait_name()
        client.scan()
        pump(1)
        self.assertEqual(dunst.count(), 1)

        # A newly pushed version: exactly one more, naming it.
        H.add_tag("acme/disk", "0.2.9", labels("Disk usage", "0.2.9"))
        self.addCleanup(H.delete_tag, "acme/disk", "0.2.9")
        client.scan()
        wait_for("the notification of 0.2.9", lambda: dunst.count() >= 2)
        client.scan()
        pump(1)
        got = dunst.received()
        self.assertEqual(len(got), 2)
        self.assertEqual(got[1], ("Disk usage 0.2.9 is available (installed 0.2.7)", repo("acme/disk")))

    def test_many_updates_one_notification(self):
        """Twelve updates in one scan: one notification, the first seven named, the rest counted."""
        names = ["many/ext-%04d" % i for i in range(12)]
        bus = self.session()
        dunst = self.dunst(bus)
        client = Client(bus)
        Daemon(self, session=bus, installed={n: "1.0.0" for n in names}, repositories=names).start()
        self.assertEqual(client.wait_name().scan(), (12, 12, 0))
        wait_for("the notification", lambda: dunst.count() >= 1)
        pump(1)
        got = dunst.received()
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0][0], "12 extension updates available")
        lines = got[0][1].split("\n")
        self.assertEqual(len(lines), 8)
        self.assertEqual(lines[-1], "and 5 more")
        self.assertTrue(all(l.endswith(" 1.1.0 is available (installed 1.0.0)") for l in lines[:-1]), lines)

    def test_server_appears_later(self):
        bus = self.session()
        client = Client(bus)
        d = Daemon(self, session=bus, installed=INSTALLED).start()
        client.wait_name().scan()
        wait_for("the failed delivery to be logged", lambda: "desktop notifications:" in d.stderr())
        self.assertEqual(d.db("SELECT count(*) FROM notifications WHERE sent_at IS NULL")[0][0], 2)

        # Pending across a restart too, then sent the moment a server appears.
        self.assertEqual(d.stop(), 0)
        d.start()
        client.wait_name()
        pump(1)
        self.assertEqual(d.db("SELECT count(*) FROM notifications WHERE sent_at IS NULL")[0][0], 2)
        dunst = self.dunst(bus)
        wait_for("the pending notification", lambda: dunst.count() >= 1)
        wait_for("the delivery recorded",
                 lambda: d.db("SELECT count(*) FROM notifications WHERE sent_at IS NULL")[0][0] == 0)
        pump(1)
        self.assertEqual(dunst.received(), [("2 extension updates available", "%s\n%s" % (DISK_LINE, LOGS_LINE))])
        log = d.stderr()
        self.assertEqual(log.count("desktop notifications:"), 2, log)  # once per run without a server

    def test_notifications_off(self):
        bus = self.session()
        dunst = self.dunst(bus)
        client = Client(bus)
        d = Daemon(self, session=bus, installed=INSTALLED, config={"notifications": False}).start()
        client.wait_name().scan()
        client.scan()
        pump(1)
        self.assertEqual(dunst.count(), 0)
        self.assertEqual(d.db("SELECT count(*) FROM notifications WHERE sent_at IS NULL")[0][0], 0)


class NoBusTest(DBusTestCase):
    def test_no_bus_at_all(self):
        d = Daemon(self).start()
        wait_for("a scan without any bus", lambda: d.finished_scans() >= 1)
        self.assertIsNone(d.proc.poll())
        self.assertEqual(d.stop(), 0)
        log = d.stderr()
        self.assertEqual(log.count("session bus"), 1, log)

    def test_no_dbus_option(self):
        bus = self.session()
        d = Daemon(self, session=bus, extra_args=["--no-dbus"]).start()
        wait_for("a scan", lambda: d.finished_scans() >= 1)
        self.assertFalse(bus.has_owner(NAME))
        self.assertEqual(d.stop(), 0)
        self.assertNotIn(" bus", d.stderr())

    def test_session_bus_lost_and_back(self):
        path = os.path.join(tempfile.mkdtemp(prefix="session-", dir=WORK), "bus")
        bus = self.session(path)
        client = Client(bus)
        d = Daemon(self, session=BusAddress(path)).start()
        client.wait_name().wait_scan_finished()
        bus.stop()
        wait_for("the lost bus logged", lambda: "lost the session bus" in d.stderr())
        time.sleep(0.5)
        self.assertIsNone(d.proc.poll())
        # A new bus daemon on the same socket: the daemon is back on it without a restart.
        bus = self.session(path)
        client = Client(bus)
        client.wait_name()
        before = d.finished_scans()
        client.scan()
        self.assertEqual(d.finished_scans(), before + 1)
        self.assertEqual(d.stop(), 0)
        log = d.stderr()
        self.assertEqual(log.count("lost the session bus"), 1, log)
        self.assertEqual(log.count("connected to the session bus:"), 1, log)

    def test_session_bus_appears_later(self):
        """A daemon started before the session bus: on it once it appears, and the notifications it
        decided meanwhile are delivered then."""
        path = os.path.join(tempfile.mkdtemp(prefix="session-", dir=WORK), "bus")
        d = Daemon(self, session=BusAddress(path), installed=INSTALLED).start()
        # The imported inventory's scan is young, so the daemon does not scan at start: ask on its socket.
        wait_for("the API socket", lambda: os.path.exists(d.api_socket))
        subprocess.run(["curl", "-sS", "--fail", "--unix-socket", d.api_socket, "-X", "POST",
                        "http://localhost/v1/scan?wait=1"], check=True, capture_output=True, timeout=60)
        self.assertEqual(d.db("SELECT count(*) FROM notifications WHERE sent_at IS NULL")[0][0], 2)
        bus = self.session(path)
        dunst = self.dunst(bus)
        Client(bus).wait_name()
        wait_for("the pending notification", lambda: dunst.count() >= 1)
        wait_for("the delivery recorded",
                 lambda: d.db("SELECT count(*) FROM notifications WHERE sent_at IS NULL")[0][0] == 0)
        self.assertEqual(dunst.received(), [("2 extension updates available", "%s\n%s" % (DISK_LINE, LOGS_LINE))])
        self.assertEqual(d.stop(), 0)
        log = d.stderr()
        self.assertEqual(log.count("no session bus"), 1, log)
        self.assertEqual(log.count("connected to the session bus:"), 1, log)


class DesktopTest(DBusTestCase):
    def test_metered(self):
        bus, system = self.session(), self.system()
        nm = NetworkManager(system, metered=1)
        client = Client(bus)
        d = Daemon(self, session=bus, system=system).start()
        client.wait_name()
        # The scan due at start waits while metered.
        pump(3)
        self.assertEqual(client.named("ScanFinished"), [])
        self.assertEqual(int(client.get("LastScan")), 0)
        # An asked-for scan runs all the same.
        self.assertEqual(client.scan(), (3, 0, 0))
        self.assertEqual(d.finished_scans(), 1)

        # Scheduled scans wait for the connection to be unmetered; guess-yes counts as metered.
        d.stop()
        nm.set_metered(3)
        pump(0.2)
        client.signals.clear()
        d2 = Daemon(self, session=bus, system=system).start()
        client.wait_name()
        pump(3)
        self.assertEqual(client.named("ScanFinished"), [])
        nm.set_metered(4)
        client.wait_scan_finished()
        self.assertEqual(d2.finished_scans(), 1)

    def test_system_bus_lost_and_back(self):
        path = os.path.join(tempfile.mkdtemp(prefix="system-", dir=WORK), "system_bus_socket")
        bus, system = self.session(), self.system(path)
        NetworkManager(system, metered=1)
        client = Client(bus)
        d = Daemon(self, session=bus, system=BusAddress(path)).start()
        client.wait_name()
        pump(2)
        self.assertEqual(client.named("ScanFinished"), [])
        # Without the system bus nothing says the connection is metered: the due scan runs.
        system.stop()
        client.wait_scan_finished()
        # A new system bus: the daemon is back on it and follows NetworkManager again.
        system = self.system(path)
        nm = NetworkManager(system, metered=1)
        wait_for("Metered read on the new system bus", lambda: nm.reads >= 1)
        self.assertEqual(d.stop(), 0)
        log = d.stderr()
        self.assertEqual(log.count("lost the system bus"), 1, log)
        self.assertEqual(log.count("connected to the system bus:"), 1, log)

    def test_no_network_manager_is_unmetered(self):
        bus, system = self.session(), self.system()
        client = Client(bus)
        d = Daemon(self, session=bus, system=system).start()
        client.wait_name().wait_scan_finished()
        self.assertEqual(d.finished_scans(), 1)

    def test_sleep_and_resume(self):
        bus, system = self.session(), self.system()
        NetworkManager(system, metered=2)
        logind = Logind(system)
        client = Client(bus)
        H.configure(delay_ms=400)
        self.addCleanup(H.configure, delay_ms=0)
        d = Daemon(self, session=bus, system=system).start()
        client.wait_name()
        wait_for("the scan at start", lambda: str(client.get("State")) == "scanning")
        logind.PrepareForSleep(True)
        wait_for("the scan cancelled for sleep", lambda: str(client.get("State")) == "idle")
        pump(1)
        self.assertEqual(client.named("ScanFinished"), [])
        self.assertEqual(d.finished_scans(), 0)
        H.configure(delay_ms=0)
        logind.PrepareForSleep(False)
        self.assertEqual(client.wait_scan_finished()[-1], (3, 0, 0))
        self.assertEqual(d.finished_scans(), 1)


def setUpModule():
    global H, REG, WORK, XVFB, DISPLAY
    WORK = tempfile.mkdtemp(prefix="extupdated-dbus-")
    unittest.addModuleCleanup(shutil.rmtree, WORK, True)
    H = harness.Harness(auth=True).start()
    unittest.addModuleCleanup(H.stop)
    REG = H.registry
    H.seed(SEED)
    H.seed(images.generate_spec(12, 2, namespace="many"), via="storage")
    r, w = os.pipe()
    XVFB = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-nolisten", "tcp"], pass_fds=(w,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        DISPLAY = ":" + f.readline().strip()
    unittest.addModuleCleanup(lambda: (XVFB.terminate(), XVFB.wait(10)))


def main():
    global EXE
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 1
    EXE = os.path.abspath(sys.argv.pop(1))
    missing = [p for p in ("dbus-daemon", "dunst", "dunstctl", "Xvfb") if not shutil.which(p)]
    if missing:
        print("test-dbus: missing %s (tests/install-deps.sh installs them)" % ", ".join(missing), file=sys.stderr)
        return 77
    prog = unittest.main(exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
