#!/usr/bin/env python3
"""Unit tests of the file-manager extension's decisions (no mount, no display, no bindings
needed): status to emblem and label, selection to menu actions, requests, the watch that
refreshes files whose status may still change, which mount a path is on (/proc/self/mountinfo,
with thousands of mounts too) and whose it is, the queue that asks the mounts in the background
(bounded, merged, given up on), and following the event log (its lines, names that are not
UTF-8, where to read after a rotation or truncation, bounded reads, bursts read at once, whose
log is followed and which files are read).

    python3 Tests/file-manager/test_logic.py [-v]

Works with any Python 3; with the file manager's bindings installed it also loads the glue and
runs the tests of its own code (CompletionTests, FollowTests), which need no mount and no display.
"""

import errno
import importlib.util
import json
import os
import random
import shutil
import tempfile
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
EXTENSION = os.path.join(HERE, "..", "..", "mount-helpers", "file-manager", "recsync_file_manager.py")


def load_extension():
    spec = importlib.util.spec_from_file_location("recsync_file_manager_logic", EXTENSION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ext = load_extension()
S = ext.SelectedFile



def mount_table(case, text, **kwargs):
    """A MountTable over `text` written to a temporary file, removed after the test."""
    handle = tempfile.NamedTemporaryFile("w", delete=False)
    handle.write(text)
    handle.close()
    case.addCleanup(os.remove, handle.name)
    kwargs.setdefault("changed", None)
    return ext.MountTable(handle.name, **kwargs), handle.name

class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class StatusTests(unittest.TestCase):
    def test_every_status_has_a_label_and_only_local_has_no_emblem(self):
        for status in ext.STATUSES:
            self.assertTrue(ext.status_label(status))
            self.assertEqual(ext.emblems_for(status) == [], status == "local", status)
        self.assertEqual(ext.emblems_for("synced"), ["emblem-default"])
        self.assertEqual(ext.emblems_for("syncing"), ["emblem-synchronizing"])
        self.assertEqual(ext.emblems_for("pending"), ["emblem-synchronizing"])
        self.assertEqual(ext.emblems_for("failed"), ["emblem-important"])

    def test_unknown_or_missing_status(self):
        self.assertEqual(ext.emblems_for("archived"), [])
        self.assertEqual(ext.emblems_for(None), [])
        self.assertEqual(ext.status_label("archived"), "archived")
        self.assertEqual(ext.status_label(None), "")

    def test_the_error_is_made_one_short_line(self):
        self.assertEqual(ext.short_error(""), "")
        self.assertEqual(ext.short_error(None), "")
        self.assertEqual(ext.short_error("paused: offline"), "paused: offline")
        error = "PutObject b/k failed: HTTP 404\nNoSuchBucket: " + "x" * 200
        short = ext.short_error(error, limit=40)
        self.assertEqual(len(short), 40)
        self.assertTrue(short.startswith("HTTP 404 NoSuchBucket: xxx"), short)
        self.assertTrue(short.endswith("\u2026"))
        self.assertEqual(ext.short_error("reading failed: "), "reading failed:", "no reason: kept whole")

    def test_the_status_column_says_why(self):
        self.assertEqual(ext.status_text("synced"), "Synced")
        self.assertEqual(ext.status_text("pending", "paused: offline"), "Waiting to upload (paused: offline)")
        self.assertEqual(ext.status_text("failed", "PutObject b/k failed: HTTP 403 AccessDenied"),
                         "Upload failed (HTTP 403 AccessDenied)")
        self.assertEqual(ext.status_text(None, "x"), "")

    def test_only_pending_and_syncing_change_by_themselves(self):
        self.assertEqual({s for s in ext.STATUSES if ext.may_change(s)}, {"pending", "syncing"})

    def test_a_file_outside_a_mount_has_no_status(self):
        with tempfile.NamedTemporaryFile() as plain:
            self.assertIsNone(ext.read_status(plain.name))
        self.assertIsNone(ext.read_status("/nonexistent/file.wav"))


class MenuTests(unittest.TestCase):
    def actions(self, *selection):
        return {action.request: action for action in ext.menu_actions(list(selection))}

    def test_single_files(self):
        self.assertEqual(self.actions(S("/m/a", "synced", False)), {})
        self.assertEqual(self.actions(S("/m/a", "syncing", False)), {})
        for status in ("local", "pending"):
            actions = self.actions(S("/m/a", status, False))
            self.assertEqual(list(actions), ["now"], status)
            self.assertEqual(actions["now"].paths, ["/m/a"])
            self.assertEqual(actions["now"].label, "Upload Now")
        failed = self.actions(S("/m/a", "failed", False))
        self.assertEqual(sorted(failed), ["now", "retry"])
        self.assertEqual(failed["retry"].label, "Retry Upload")
        self.assertEqual(failed["retry"].paths, ["/m/a"])

    def test_folders_and_files_elsewhere_get_nothing(self):
        self.assertEqual(self.actions(S("/m/dir", "failed", True), S("/home/x", None, False)), {})
        self.assertEqual(ext.menu_actions([]), [])

    def test_a_mixed_selection_acts_on_the_files_each_action_fits(self):
        actions = self.actions(S("/m/a", "synced", False), S("/m/b", "pending", False),
                               S("/m/c", "failed", False), S("/m/d", "local", False),
                               S("/m/e", "syncing", False), S("/m/dir", "pending", True),
                               S("/tmp/f", None, False))
        self.assertEqual(actions["now"].paths, ["/m/b", "/m/c", "/m/d"])
        self.assertEqual(actions["retry"].paths, ["/m/c"])
        self.assertIn("3 files", actions["now"].tip)
        names = [action.name for action in ext.menu_actions([S("/m/c", "failed", False)])]
        self.assertEqual(len(names), len(set(names)), "menu item names are unique")


class RequestTests(unittest.TestCase):
    def test_failures_are_described_in_one_line(self):
        failures = [("/m/bad", OSError(errno.EINVAL, os.strerror(errno.EINVAL), "/m/bad")),
                    ("/m/gone.wav", "No such file or directory")]
        message = ext.describe_failures("now", failures)
        self.assertEqual(message, "recsync could not upload bad: Invalid argument; gone.wav: No such file or directory")
        self.assertTrue(ext.describe_failures("retry", failures).startswith("recsync could not retry "))
        self.assertEqual(ext.describe_failures("retry", []), "")

    def test_many_failures_are_summed_up(self):
        failures = [("/m/f%d" % i, OSError(errno.EIO, "I/O error")) for i in range(5)]
        self.assertTrue(ext.describe_failures("retry", failures).endswith("and 2 more"))

    def test_gio_values_are_unescaped(self):
        self.assertIsNone(ext.gio_unescape(None))
        self.assertEqual(ext.gio_unescape("pending"), "pending")
        # GIO writes each byte that is not printable ASCII, and the backslash, as \xNN.
        self.assertEqual(ext.gio_unescape("paused: caf\\xc3\\xa9 a\\x5cb\\x0a"), "paused: caf\u00e9 a\\b")
        self.assertEqual(ext.gio_unescape("bad \\xff byte"), "bad \ufffd byte")


MOUNTINFO = (
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "30 22 0:26 / /proc rw,nosuid shared:12 - proc proc rw\n"
    "41 22 0:40 / /home/ana/Recordings rw,nosuid,nodev shared:20 - fuse.recsync recsync rw,user_id=1000\n"
    "42 22 0:41 / /home/ana/My\\040Takes rw,nosuid,nodev shared:21 - fuse.recsync recsync rw\n"
    "43 41 0:42 / /home/ana/Recordings/nfs rw shared:22 master:3 - nfs4 server:/export rw\n"
    "44 22 0:43 / /mnt/back\\134slash\\011tab rw - fuse.recsync recsync rw\n"
    "45 22 0:44 / /srv/share rw - fuse.sshfs ana@host:/ rw\n"
    "broken line\n"
    "46 22 0:45 / /srv/odd rw no-separator-here\n"
)


class MountTests(unittest.TestCase):
    def test_mountinfo_lines_with_escapes_and_optional_fields(self):
        mounts = ext.parse_mountinfo(MOUNTINFO)
        self.assertEqual([m.id for m in mounts], [22, 30, 41, 42, 43, 44, 45], "unreadable lines are left out")
        self.assertEqual(mounts[2], ext.Mount(41, 22, "/home/ana/Recordings", "fuse.recsync", 1000))
        self.assertEqual(mounts[3].point, "/home/ana/My Takes")
        self.assertEqual([m.owner for m in mounts], [None, None, 1000, None, None, None, None],
                         "the owner is the user_id= super option, where there is one")
        self.assertEqual(mounts[4].fstype, "nfs4", "two optional fields before the separator")
        self.assertEqual(mounts[5].point, "/mnt/back\\slash\ttab")
        self.assertEqual(ext.parse_mountinfo(MOUNTINFO.encode()), mounts, "bytes or text")
        self.assertEqual(ext.unescape_mount_field(b"/a\\012b\\134"), "/a\nb\\")
        self.assertEqual(ext.unescape_mount_field(b"/caf\xc3\xa9"), "/caf\u00e9")
        self.assertEqual(ext.unescape_mount_field(b"/bad\xff"), os.fsdecode(b"/bad\xff"), "as Python names paths")

    def table(self, text=MOUNTINFO, **kwargs):
        return mount_table(self, text, **kwargs)

    def test_the_longest_mount_point_wins(self):
        table, _ = self.table()
        self.assertEqual(table.mount_of("/home/ana/Recordings/take1.wav"), ("/home/ana/Recordings", "fuse.recsync"))
        self.assertEqual(table.mount_of("/home/ana/Recordings"), ("/home/ana/Recordings", "fuse.recsync"))
        self.assertEqual(table.mount_of("/home/ana/Recordings/nfs/x.wav"), ("/home/ana/Recordings/nfs", "nfs4"))
        self.assertEqual(table.mount_of("/home/ana/RecordingsOld/x.wav"), ("/", "ext4"),
                         "a prefix of the name is not a folder above")
        self.assertEqual(table.mount_of("/home/ana/My Takes/a b.wav")[0], "/home/ana/My Takes")
        self.assertEqual(table.mount_of("/mnt/back\\slash\ttab/x")[1], "fuse.recsync")
        self.assertEqual(table.mount_of("/"), ("/", "ext4"))
        self.assertIsNone(table.mount_of("relative/path"))
        self.assertIsNone(table.mount_of(None))

    def test_only_recsync_mounts_count(self):
        table, _ = self.table()
        self.assertEqual(table.recsync_mount("/home/ana/Recordings/sub/take.wav"), "/home/ana/Recordings")
        self.assertEqual(table.recsync_mount("/home/ana/My Takes/x"), "/home/ana/My Takes")
        for path in ("/home/ana/Recordings/nfs/x.wav", "/srv/share/x.wav", "/home/ana/notes.txt", "/proc/1/status"):
            self.assertIsNone(table.recsync_mount(path), path)

    def test_no_system_call_on_the_path(self):
        table, name = self.table()
        opened = []
        real_open = open

        def watched_open(path, *args, **kwargs):
            opened.append(path)
            return real_open(path, *args, **kwargs)

        calls = mock.MagicMock(side_effect=AssertionError("a system call on the path"))
        with mock.patch("builtins.open", watched_open), mock.patch.object(os, "stat", calls), \
                mock.patch.object(os, "lstat", calls), mock.patch.object(os, "getxattr", calls), \
                mock.patch.object(os.path, "realpath", calls):
            self.assertIsNone(table.recsync_mount("/srv/share/hung/file.wav"))
            self.assertEqual(table.recsync_mount("/home/ana/Recordings/a.wav"), "/home/ana/Recordings")
        self.assertEqual(set(opened), {name}, "only the mount table is read")

    def test_a_mount_on_top_hides_what_is_below(self):
        text = ("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                "2 1 0:40 / /data rw - fuse.recsync recsync rw\n"
                "3 2 0:41 / /data/inner rw - fuse.recsync recsync rw\n"
                "4 2 0:42 / /data rw - nfs4 server:/x rw\n"        # mounted over the recsync mount
                "5 1 0:43 / /top rw - ext4 /dev/sdb1 rw\n"
                "6 5 0:44 / /top rw - fuse.recsync recsync rw\n"   # a recsync mount over /top
                "7 1 0:45 / /srv/rec/a rw - fuse.recsync recsync rw\n"
                "8 1 0:46 / /srv/rec rw - cifs //nas/rec rw\n")    # mounted later above it
        table, _ = self.table(text)
        self.assertEqual(table.mount_of("/data/inner/x"), ("/data", "nfs4"), "inside the hidden mount: hidden too")
        self.assertIsNone(table.recsync_mount("/data/x"))
        self.assertEqual(table.recsync_mount("/top/x"), "/top")
        self.assertEqual(table.mount_of("/srv/rec/a/x"), ("/srv/rec", "cifs"))
        self.assertEqual(ext.visible_mounts(ext.parse_mountinfo(text)),
                         {"/": "ext4", "/data": "nfs4", "/top": "fuse.recsync", "/srv/rec": "cifs"})

    def test_the_table_is_read_again_when_the_kernel_says_it_changed_and_only_then(self):
        clock = Clock()
        changed = [False]
        table, name = self.table(clock=clock, max_age=5.0, changed=lambda: changed[0])
        self.assertIsNone(table.recsync_mount("/media/new/x.wav"))
        self.assertEqual((table.reads, table.builds), (1, 1))
        with open(name, "a") as text:
            text.write("50 22 0:50 / /media/new rw - fuse.recsync recsync rw\n")
        clock.now += 3600
        self.assertIsNone(table.recsync_mount("/media/new/x.wav"), "not read again by age: the notice is enough")
        self.assertEqual(table.reads, 1)
        changed[0] = True  # the kernel says the mounts changed
        self.assertEqual(table.recsync_mount("/media/new/x.wav"), "/media/new")
        self.assertEqual((table.reads, table.builds), (2, 2))
        # A notice with the same text (a remount that changed nothing shown): read, not built.
        self.assertEqual(table.recsync_mount("/media/new/x.wav"), "/media/new")
        self.assertEqual((table.reads, table.builds), (3, 2))
        changed[0] = False
        with open(name, "w") as text:
            text.write(MOUNTINFO)
        self.assertEqual(table.recsync_mount("/media/new/x.wav"), "/media/new")
        changed[0] = True
        self.assertIsNone(table.recsync_mount("/media/new/x.wav"), "unmounted")
        self.assertEqual((table.reads, table.builds), (4, 3))

    def test_without_a_change_notice_it_is_read_again_by_age_and_built_only_when_it_changed(self):
        clock = Clock()
        table, name = self.table(clock=clock, max_age=5.0, changed=None)
        self.assertIsNone(table.recsync_mount("/media/new/x.wav"))
        clock.now += 4.9
        table.recsync_mount("/home/ana/Recordings/a")
        self.assertEqual((table.reads, table.builds), (1, 1))
        clock.now += 0.1
        table.recsync_mount("/home/ana/Recordings/a")
        self.assertEqual((table.reads, table.builds), (2, 1), "read again after max_age; the same text is not built again")
        with open(name, "a") as text:
            text.write("50 22 0:50 / /media/new rw - fuse.recsync recsync rw\n")
        clock.now += 5
        self.assertEqual(table.recsync_mount("/media/new/x.wav"), "/media/new")
        self.assertEqual((table.reads, table.builds), (3, 2))

    def test_each_mount_point_has_the_id_of_the_mount_seen_there(self):
        table, name = self.table(changed=lambda: True)
        self.assertEqual(table.mount_id("/home/ana/Recordings"), 41)
        self.assertEqual(table.mount_id("/home/ana/My Takes"), 42)
        self.assertIsNone(table.mount_id("/home/ana/Recordings/sub"), "not a mount point")
        with open(name, "w") as text:
            text.write("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                       "2 1 0:40 / /data rw - fuse.recsync recsync rw\n"
                       "3 2 0:41 / /data rw - fuse.recsync recsync rw\n")  # mounted again on top
        self.assertEqual(table.mount_id("/data"), 3)
        self.assertIsNone(table.mount_id("/home/ana/Recordings"), "gone")

    def test_an_unreadable_table_means_no_recsync_mount(self):
        table = ext.MountTable("/nonexistent/mountinfo", changed=None)
        self.assertIsNone(table.recsync_mount("/home/ana/Recordings/x"))

    def test_the_kernel_change_notice_is_used_when_there_is_one(self):
        if not os.path.exists("/proc/self/mountinfo"):
            self.skipTest("no /proc/self/mountinfo")
        table = ext.MountTable(max_age=0)
        table.mount_of("/")
        table.mount_of("/")
        self.assertEqual(table.reads, 1, "no change, no new read (poll(2) said nothing), however old")


def pairwise_visible_mounts(mounts):
    """The rules of visible_mounts, written the plain way (each mount against all its siblings,
    and again for each parent above it): what the fast version must agree with."""
    by_id = {mount.id: mount for mount in mounts}
    children = {}
    for mount in mounts:
        if mount.parent != mount.id:
            children.setdefault(mount.parent, []).append(mount)

    def inside(path, folder):
        return path != folder and (folder == "/" or path.startswith(folder + "/"))

    def covered(mount):
        return any(child.point == mount.point for child in children.get(mount.id, ()))

    def shadowed(mount):
        return any(inside(mount.point, sibling.point) for sibling in children.get(mount.parent, ()))

    def reachable(mount):
        seen = set()
        while mount.id not in seen:
            seen.add(mount.id)
            if shadowed(mount):
                return False
            parent = by_id.get(mount.parent)
            if parent is None or parent is mount:
                return True
            if parent.point != mount.point and covered(parent):
                return False
            mount = parent
        return True

    return {mount.point: mount.fstype for mount in mounts if not covered(mount) and reachable(mount)}


def many_mounts(count):
    """mountinfo text of a container host: `count` overlay mounts side by side under
    /var/lib/docker, a few hundred nested ones (kubelet volumes), and among them the cases that
    must come out right: a recsync mount with escapes in its name, one hidden under a later
    mount at the same point, one hidden under a sibling mounted later on a folder above it, and
    one inside a hidden one."""
    lines = ["1 0 8:1 / / rw shared:1 - ext4 /dev/sda1 rw",
             "2 1 8:2 / /var rw shared:2 - ext4 /dev/sda2 rw",
             "3 1 8:3 / /home rw shared:3 - ext4 /dev/sda3 rw"]
    next_id = 100
    for index in range(count):
        lines.append("%d 2 0:%d / /var/lib/docker/overlay2/%064x/merged rw,relatime shared:%d - overlay overlay "
                     "rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B" % (next_id, next_id, index, next_id))
        next_id += 1
        if index == count // 2:
            lines += ["10 3 0:40 / /home/ana/My\\040Takes\\011(old) rw - fuse.recsync recsync rw,user_id=1000,group_id=1000",
                      "11 10 0:41 / /home/ana/My\\040Takes\\011(old)/nfs rw - nfs4 server:/x rw",
                      "12 3 0:42 / /home/ana/Hidden rw - fuse.recsync recsync rw,user_id=1000,group_id=1000",
                      "13 12 0:43 / /home/ana/Hidden/inner rw - fuse.recsync recsync rw,user_id=1000,group_id=1000"]
    for index in range(count // 10):
        pod = "/var/lib/kubelet/pods/%032x" % index
        lines.append("%d 2 0:%d / %s/volumes/kubernetes.io~projected/token rw - tmpfs tmpfs rw" % (next_id, next_id, pod))
        lines.append("%d %d 0:%d / %s/volumes/kubernetes.io~projected/token/ca rw - tmpfs tmpfs rw"
                     % (next_id + 1, next_id, next_id + 1, pod))
        next_id += 2
    lines += ["14 12 0:44 / /home/ana/Hidden rw - nfs4 server:/over rw",                # on top of 12
              "15 3 0:45 / /srv/rec/a rw - fuse.recsync recsync rw,user_id=1000",
              "16 3 0:46 / /srv/rec rw - cifs //nas/rec rw",                            # later, above 15
              "17 1 0:47 / /media/rec rw - fuse.recsync recsync rw,user_id=1000,group_id=1000"]
    return "\n".join(lines) + "\n"


class ManyMountsTests(unittest.TestCase):
    """A host with thousands of mounts (Docker, LXD, Kubernetes): the table is built in a few
    milliseconds, asking about a path costs no more than with a few mounts, and the answers are
    the same as the plain rules give."""

    def table(self, text, **kwargs):
        return mount_table(self, text, **kwargs)

    def test_thousands_of_mounts_are_built_well_within_a_frame(self):
        text = many_mounts(3000)
        table, name = self.table(text)
        times = []
        for _ in range(3):
            table._data = None  # as if the kernel had changed it
            started = time.perf_counter()
            table.refresh()
            times.append(time.perf_counter() - started)
        self.assertEqual(table.builds, 3)
        self.assertLess(min(times), 0.05, "reading and building a table of %d mounts took %.1f ms"
                        % (text.count("\n"), min(times) * 1000))

    def test_the_answers_on_a_big_table(self):
        table, _ = self.table(many_mounts(3000))
        self.assertEqual(table.recsync_mount("/home/ana/My Takes\t(old)/a b.wav"), "/home/ana/My Takes\t(old)")
        self.assertEqual(table.owner("/home/ana/My Takes\t(old)"), 1000)
        self.assertEqual(table.mount_of("/home/ana/My Takes\t(old)/nfs/x")[1], "nfs4", "the longest mount point")
        self.assertEqual(table.mount_of("/home/ana/Hidden/inner/x"), ("/home/ana/Hidden", "nfs4"),
                         "under a later mount at the same point, and inside one that is")
        self.assertEqual(table.mount_of("/srv/rec/a/x"), ("/srv/rec", "cifs"), "under a sibling above it")
        self.assertEqual(table.recsync_mount("/media/rec/x"), "/media/rec")
        self.assertEqual(table.mount_of("/var/lib/docker/overlay2/%064x/merged/etc/hosts" % 1234)[1], "overlay")
        self.assertEqual(table.mount_of("/var/lib/kubelet/pods/%032x/volumes/kubernetes.io~projected/token/ca/x" % 7)[1],
                         "tmpfs")
        self.assertEqual(table.mount_of("/var/lib/docker/image"), ("/var", "ext4"))
        self.assertEqual(table.mount_id("/home/ana/Hidden"), 14)

    def test_asking_when_nothing_changed_reads_nothing(self):
        clock = Clock()
        notices = []

        def changed():
            notices.append(1)
            return False

        table, _ = self.table(many_mounts(3000), clock=clock, changed=changed)
        table.recsync_mount("/media/rec/x")
        started = time.perf_counter()
        for index in range(2000):
            clock.now += 1.0  # however old the table is
            table.recsync_mount("/var/lib/docker/overlay2/%064x/merged/usr/lib/file%d" % (index, index))
        elapsed = time.perf_counter() - started
        self.assertEqual((table.reads, table.builds), (1, 1))
        self.assertEqual(len(notices), 2000, "one poll(2) per question")
        self.assertLess(elapsed, 0.1, "2000 questions took %.1f ms" % (elapsed * 1000))

    def test_the_fast_rules_agree_with_the_plain_ones(self):
        generator = random.Random(20261125)
        folders = ["/", "/a", "/a/b", "/a/b/c", "/a/bc", "/a b", "/d", "/d/a", "/a/b/c/d"]
        fstypes = ["ext4", "fuse.recsync", "nfs4", "tmpfs"]
        for round_ in range(400):
            count = generator.randint(1, 25)
            ids = generator.sample(range(1, 200), count)
            mounts = []
            for position, mount_id in enumerate(ids):
                if position == 0:
                    parent = 0 if generator.random() < 0.8 else mount_id
                elif generator.random() < 0.9:
                    parent = generator.choice(ids[:position])   # as the kernel lists them: parents first
                else:
                    parent = generator.choice(ids + [999])       # anything, loops included
                point = generator.choice(folders)
                if generator.random() < 0.3 and position:       # on top of its parent
                    point = next((m.point for m in mounts if m.id == parent), point)
                mounts.append(ext.Mount(mount_id, parent, point, generator.choice(fstypes)))
            self.assertEqual(ext.visible_mounts(mounts), pairwise_visible_mounts(mounts),
                             "round %d: %r" % (round_, mounts))


class OwnerTests(unittest.TestCase):
    """Whose mount it is, and what the path it names as its event log is: only a regular file of
    the viewer's, on a mount of the viewer's, is followed."""

    def test_the_owner_of_a_mount_is_its_user_id_option(self):
        self.assertEqual(ext.mount_owner("rw,user_id=1000,group_id=1000"), 1000)
        self.assertEqual(ext.mount_owner(b"rw,default_permissions,allow_other,user_id=0,group_id=0"), 0)
        self.assertEqual(ext.mount_owner("user_id=42"), 42)
        for options in ("rw", "", None, "rw,user_id=,group_id=1", "rw,user_id=abc", "rw,xuser_id=5", "rw,user_id=5x"):
            self.assertIsNone(ext.mount_owner(options), options)
        text = MOUNTINFO + "47 22 0:46 / /srv/other rw - fuse.recsync recsync rw,user_id=1001,group_id=1001\n"
        mounts = {m.point: m.owner for m in ext.parse_mountinfo(text)}
        self.assertEqual(mounts["/home/ana/Recordings"], 1000)
        self.assertEqual(mounts["/srv/other"], 1001)
        self.assertIsNone(mounts["/home/ana/My Takes"])

    def test_the_table_gives_the_owner_of_the_mount_seen_at_a_point(self):
        handle = tempfile.NamedTemporaryFile("w", delete=False)
        handle.write("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                     "2 1 0:40 / /data rw - fuse.recsync recsync rw,user_id=1001,group_id=1001\n"
                     "3 2 0:41 / /data rw - fuse.recsync recsync rw,user_id=1000,group_id=1000\n")
        handle.close()
        self.addCleanup(os.remove, handle.name)
        table = ext.MountTable(handle.name, changed=None)
        self.assertEqual(table.owner("/data"), 1000, "the one on top")
        self.assertIsNone(table.owner("/"))
        self.assertIsNone(table.owner("/elsewhere"))

    def test_only_the_viewers_own_mounts_are_followed(self):
        self.assertTrue(ext.may_follow_events(1000, 1000))
        self.assertTrue(ext.may_follow_events(0, 0), "root follows root's mounts")
        self.assertFalse(ext.may_follow_events(1001, 1000), "another user's mount (allow_other)")
        self.assertFalse(ext.may_follow_events(1000, 0), "root does not follow a user's mount")
        self.assertFalse(ext.may_follow_events(0, 1000))
        self.assertFalse(ext.may_follow_events(None, 1000), "no user_id=: not known to be the viewer's")
        self.assertFalse(ext.may_follow_events(None, None))

    def test_only_a_regular_file_of_the_viewers_is_read(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        log = os.path.join(folder, "events.jsonl")
        with open(log, "w") as handle:
            handle.write("{}\n")
        os.mkfifo(os.path.join(folder, "fifo"))
        os.symlink(log, os.path.join(folder, "link"))
        me = os.getuid()

        def problem(name, viewer=me):
            info = os.lstat(name if name.startswith("/") else os.path.join(folder, name))
            return ext.event_log_problem(info.st_mode, info.st_uid, viewer)

        self.assertIsNone(problem("events.jsonl"))
        self.assertEqual(problem("events.jsonl", viewer=me + 1), "owned by uid %d" % me)
        self.assertEqual(problem("fifo"), "not a regular file")
        self.assertEqual(problem("link"), "a symbolic link", "even to a file that would do")
        self.assertEqual(problem("/dev/null", viewer=os.lstat("/dev/null").st_uid), "not a regular file")
        self.assertEqual(problem(folder), "not a regular file")
        self.assertIsNotNone(ext.event_log_problem(None, me, me))
        self.assertIsNotNone(ext.event_log_problem(os.lstat(log).st_mode, None, me))


def recsync_text(name):
    """A name's bytes in recsync's text form, as docs/SEMANTICS.md ("Names") describes it: valid
    UTF-8 as it is, every other byte as U+10FF00 + byte, and a character of U+10FF80...U+10FFFF
    that the name really holds as its UTF-8 bytes, each written that way."""
    text = []
    for char in name.decode("utf-8", "surrogateescape"):
        if 0xDC80 <= ord(char) <= 0xDCFF:           # a byte that is not valid UTF-8
            text.append(chr(0x10FF00 + ord(char) - 0xDC00))
        elif 0x10FF80 <= ord(char) <= 0x10FFFF:
            text.extend(chr(0x10FF00 + byte) for byte in char.encode("utf-8"))
        else:
            text.append(char)
    return "".join(text)


class EventNameTests(unittest.TestCase):
    """Names that are not UTF-8 in the event log: recsync writes them in its text form; the
    extension maps them back to the bytes, and to the str Python (and GIO) gives that path."""

    NAMES = [b"take1.wav", "caf\u00e9.wav".encode(), "cafe\u0301.wav".encode(), b"caf\xe9.wav",
             b"\xff\xfe\x80", b"half \xe2\x82.wav", b"\xe0\x80\x80", "\U0010FF80 real".encode(),
             "\U0010FF10 private".encode(), b"new\nline\ttab\\", b"100% take.wav", b"caf%E9.wav"]

    def test_the_text_form_maps_back_to_the_bytes(self):
        for name in self.NAMES:
            text = recsync_text(name)
            self.assertEqual(ext.name_bytes(text), name, repr(name))
            self.assertEqual(ext.event_path(text), os.fsdecode(name), repr(name))
        self.assertEqual(recsync_text(b"caf\xe9.wav"), "caf\U0010FFE9.wav")
        self.assertEqual(ext.event_path("caf\U0010FFE9.wav"), "caf\udce9.wav")
        self.assertNotEqual(ext.event_path("caf\u00e9.wav"), ext.event_path("cafe\u0301.wav"), "NFC and NFD: two names")
        self.assertIsNone(ext.name_bytes("lone \ud800 surrogate"), "text no name has")

    def test_event_lines_with_such_names_give_the_paths_python_has(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        sub = os.path.join(os.fsencode(folder), b"sub \xff")
        os.mkdir(sub)
        for name in self.NAMES:
            if b"/" not in name:
                open(os.path.join(sub, name), "wb").close()
        listed = {os.path.join(folder, "sub \udcff", name) for name in os.listdir(os.path.join(folder, "sub \udcff"))}
        lines = []
        for name in self.NAMES:
            path = recsync_text(b"sub \xff/" + name)
            # Swift's JSONEncoder writes the characters themselves; a \\u escape means the same.
            lines.append(json.dumps({"path": path, "status": "synced"}, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            lines.append(json.dumps({"path": path, "status": "failed"}))
        lines.append(b'{"path": "bad \\ud800", "status": "synced"}')
        changes = ext.event_changes(lines, folder)
        self.assertEqual(set(changes), listed, "each line names the file os.listdir names")
        self.assertEqual(set(changes.values()), {"failed"})


class Loop:
    """A stand-in for the main loop: call_later's functions run when the test says."""

    def __init__(self, clock):
        self.clock = clock
        self.timers = []

    def call_later(self, seconds, function):
        self.timers.append((self.clock.now + seconds, function))

    def advance(self, seconds):
        end = self.clock.now + seconds
        while True:
            due = sorted((t for t in self.timers if t[0] <= end), key=lambda t: t[0])
            if not due:
                break
            when, function = due[0]
            self.timers.remove(due[0])
            self.clock.now = max(self.clock.now, when)
            function()
        self.clock.now = end


class QueueTests(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.loop = Loop(self.clock)
        self.started = []
        self.recovered = []
        self.queue = ext.RequestQueue(self.started.append, clock=self.clock, call_later=self.loop.call_later,
                                      per_mount=2, queue_limit=4, give_up=5.0, check_every=1.0,
                                      on_recovered=self.recovered.append)
        self.answers = []

    def answer(self, name):
        return lambda value: self.answers.append((name, value))

    def test_a_few_at_a_time_per_mount_in_order(self):
        for i in range(4):
            self.assertIsNotNone(self.queue.submit("/m", ("read", "/m/%d" % i), self.answer(i)))
        self.queue.submit("/n", ("read", "/n/x"), self.answer("n"))
        self.assertEqual([job.key[1] for job in self.started], ["/m/0", "/m/1", "/n/x"], "two per mount")
        self.assertEqual((self.queue.running("/m"), self.queue.queued("/m")), (2, 2))
        self.assertEqual(self.answers, [], "never answered from inside submit")
        self.queue.finished(self.started[0], "A")
        self.assertEqual(self.answers, [(0, "A")])
        self.assertEqual(self.started[-1].key[1], "/m/2", "the next one starts")
        for job in list(self.started[1:]):
            self.queue.finished(job, "x")
        self.queue.finished(self.started[-1], "x")
        self.assertEqual(len(self.queue), 0)
        self.assertEqual(sorted(str(name) for name, _ in self.answers), ["0", "1", "2", "3", "n"])

    def test_the_same_request_is_merged_and_the_queue_is_bounded(self):
        for i in range(2):
            self.queue.submit("/m", ("read", "/m/running%d" % i), self.answer("r%d" % i))
        first = self.queue.submit("/m", ("read", "/m/a"), self.answer("a1"))
        again = self.queue.submit("/m", ("read", "/m/a"), self.answer("a2"))
        self.assertIs(first, again)
        self.assertEqual(self.queue.counts["merged"], 1)
        other = self.queue.submit("/m", ("request", "/m/a", "now"), self.answer("w"))
        self.assertIsNot(other, first, "a write is not merged with a read")
        self.queue.submit("/m", ("read", "/m/b"), self.answer("b"))
        self.queue.submit("/m", ("read", "/m/c"), self.answer("c"))
        self.assertEqual(self.queue.queued("/m"), 4)
        self.assertIsNone(self.queue.submit("/m", ("read", "/m/d"), self.answer("d")), "queue_limit reached")
        waiting = self.queue._lanes["/m"].queued[("read", "/m/b")]
        self.assertIs(self.queue.submit("/m", ("read", "/m/b"), self.answer("b2")), waiting, "a full queue still merges")
        self.assertEqual(self.queue.counts["refused"], 1)
        self.queue.finished(self.started[0], "r")
        self.queue.finished(self.started[2], "A")
        self.assertIn(("a1", "A"), self.answers)
        self.assertIn(("a2", "A"), self.answers)

    def test_a_running_read_is_not_merged_with_a_new_one(self):
        self.queue.submit("/m", ("read", "/m/a"), self.answer("old"))
        new = self.queue.submit("/m", ("read", "/m/a"), self.answer("new"))
        self.assertIsNot(new, self.started[0], "the file may have changed since the running read began")
        self.assertEqual(len(self.started), 2)

    def test_a_hung_mount_is_given_up_on_and_holds_no_more(self):
        for i in range(3):
            self.queue.submit("/m", ("read", "/m/%d" % i), self.answer(i))
        self.queue.submit("/n", ("read", "/n/x"), self.answer("n"))
        self.loop.advance(4.5)
        self.assertEqual(self.answers, [])
        self.queue.finished(self.started[2], "N")  # the other mount answers
        with self.assertLogs("recsync-file-manager", "WARNING") as logged:
            self.loop.advance(0.5)
        self.assertEqual(len(logged.output), 1, "one warning for the mount")
        self.assertIn("/m did not answer within 5 s", logged.output[0])
        self.assertEqual(set(self.answers), {(0, ext.NO_ANSWER), (1, ext.NO_ANSWER), (2, ext.NO_ANSWER), ("n", "N")})
        self.assertTrue(self.queue.stalled("/m"))
        self.assertIsNone(self.queue.submit("/m", ("read", "/m/new"), self.answer("new")), "stalled: refused")
        for i in range(100):
            self.queue.submit("/m", ("read", "/m/more%d" % i), self.answer("more"))
        self.assertEqual(self.queue.running("/m"), 2)
        self.assertEqual(self.queue.queued("/m"), 0)
        self.assertEqual(len([job for job in self.started if job.mount == "/m"]), 2, "no new work for a hung mount")
        self.assertEqual(self.queue.submit("/n", ("read", "/n/y"), self.answer("n2")).mount, "/n",
                         "other mounts are not held up")
        self.assertEqual(self.loop.timers and len(self.loop.timers), 1, "one timer")

        # The mount answers again: the late answers are dropped, the mount takes work again.
        self.queue.finished(self.started[0], "late")
        self.assertEqual(self.recovered, [], "still one request it has not answered")
        self.queue.finished(self.started[1], "late")
        self.assertEqual(self.recovered, ["/m"])
        self.assertNotIn("late", [value for _, value in self.answers])
        self.assertEqual(self.queue.counts["late"], 2)
        self.assertIsNotNone(self.queue.submit("/m", ("read", "/m/new"), self.answer("new")))
        self.queue.finished(self.started[-1], "fresh")
        self.assertIn(("new", "fresh"), self.answers)

    def test_waiting_too_long_in_the_queue_is_given_up(self):
        for i in range(5):
            self.queue.submit("/m", ("read", "/m/%d" % i), self.answer(i))
        self.loop.advance(4)
        self.queue.finished(self.started[0], "A")  # slow, but answering
        self.queue.finished(self.started[1], "B")
        self.loop.advance(1)
        self.assertEqual(self.answers, [(0, "A"), (1, "B"), (4, ext.NO_ANSWER)], "waited 5 s in the queue")
        self.assertFalse(self.queue.stalled("/m"))
        self.assertEqual(self.queue.running("/m"), 2)

    def test_a_cancelled_request_is_not_answered(self):
        self.queue.submit("/m", ("read", "/m/r1"), self.answer("r1"))
        self.queue.submit("/m", ("read", "/m/r2"), self.answer("r2"))
        callback = self.answer("q")
        job = self.queue.submit("/m", ("read", "/m/q"), callback)
        self.queue.cancel(job, callback)
        self.assertEqual(self.queue.queued("/m"), 0, "nobody wants it: dropped")
        running = self.started[0]
        callback = self.answer("r1-again")
        self.queue.cancel(running, running.callbacks[0])
        self.queue.finished(running, "A")
        self.queue.finished(self.started[1], "B")
        self.assertEqual(self.answers, [("r2", "B")])
        self.queue.cancel(None, callback)  # nothing to cancel

    def test_a_failing_start_answers_none_later(self):
        def start(job):
            raise RuntimeError("no")

        queue = ext.RequestQueue(start, clock=self.clock, call_later=self.loop.call_later)
        with self.assertLogs("recsync-file-manager", "ERROR"):
            queue.submit("/m", ("read", "/m/a"), self.answer("a"))
        self.assertEqual(self.answers, [])
        self.loop.advance(0)
        self.assertEqual(self.answers, [("a", None)])


class WatcherTests(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.status = {}
        self.watcher = ext.StatusWatcher(read=self.status.get, clock=self.clock,
                                         delays={"pending": (1.0, 4.0), "syncing": (1.0, 4.0), "failed": (5.0, 30.0)},
                                         forced_delays=(1.0, 4.0), force_timeout=30.0)

    def test_the_default_delays(self):
        self.assertEqual(sorted(ext.WATCH_DELAYS), ["failed", "pending", "syncing"])
        self.assertLess(ext.WATCH_DELAYS["pending"][1], ext.WATCH_DELAYS["failed"][1])

    def test_synced_and_local_files_are_not_watched(self):
        for status in ("synced", "local", None):
            self.watcher.watch("k", "/m/a", status, "info")
            self.assertEqual(len(self.watcher), 0, status)
        self.assertIsNone(self.watcher.next_due())
        self.watcher.watch("k", "/m/a", "pending", "info")
        self.watcher.watch("k", "/m/a", "synced", "info")
        self.assertEqual(len(self.watcher), 0, "seen synced: no longer watched")

    def test_a_failed_file_is_looked_at_less_often(self):
        self.status["/m/a"] = "failed"
        self.watcher.watch("k", "/m/a", "failed", "info")
        self.assertEqual(self.watcher.next_due(), 5.0)
        self.clock.now += 4.9
        self.assertEqual(self.watcher.poll(), [])
        self.clock.now += 0.1
        self.assertEqual(self.watcher.poll(), [])
        self.assertEqual(self.watcher.next_due(), 7.5)
        self.status["/m/a"] = "pending"  # retried from elsewhere
        self.clock.now += 7.5
        self.assertEqual(self.watcher.poll(), ["info"])
        self.assertEqual(self.watcher.next_due(), 1.0, "pending: looked at sooner")

    def test_a_change_is_reported_once_and_a_final_status_ends_the_watch(self):
        self.status["/m/a"] = "pending"
        self.watcher.watch("k", "/m/a", "pending", "info")
        self.assertEqual(self.watcher.poll(), [], "nothing is due before the first delay")
        self.clock.now += 1
        self.assertEqual(self.watcher.poll(), [], "unchanged")
        self.status["/m/a"] = "syncing"
        self.clock.now += 1.5
        self.assertEqual(self.watcher.poll(), ["info"])
        self.assertIn("k", self.watcher, "syncing may still change")
        self.status["/m/a"] = "synced"
        self.clock.now += 1
        self.assertEqual(self.watcher.poll(), ["info"])
        self.assertEqual(len(self.watcher), 0)

    def test_the_delay_grows_to_the_maximum(self):
        self.status["/m/a"] = "pending"
        self.watcher.watch("k", "/m/a", "pending", "info")
        reads = []
        self.watcher._read = lambda path: reads.append(self.clock.now) or self.status.get(path)
        for _ in range(400):
            self.clock.now += 0.1
            self.watcher.poll()
        gaps = [round(b - a, 1) for a, b in zip(reads, reads[1:])]
        # Polled every 0.1 s: each gap is the delay, or up to one poll more.
        self.assertEqual(gaps[:3], [1.6, 2.3, 3.4], gaps)
        self.assertTrue(all(4.0 <= g <= 4.1 for g in gaps[3:]), gaps)

    def test_gone_files_are_dropped(self):
        self.watcher.watch("k", "/m/a", "pending", "info")
        self.clock.now += 1
        self.assertEqual(self.watcher.poll(), [])
        self.assertEqual(len(self.watcher), 0, "no status any more: gone or unmounted")
        gone = ext.StatusWatcher(read=lambda path: "pending", clock=self.clock, is_gone=lambda info: True)
        gone.watch("k", "/m/a", "pending", "info")
        self.clock.now += 1
        self.assertEqual(gone.poll(), [])
        self.assertEqual(len(gone), 0)

    def test_the_number_of_watched_files_is_bounded(self):
        small = ext.StatusWatcher(read=self.status.get, clock=self.clock, limit=3)
        for i in range(10):
            small.watch("k%d" % i, "/m/%d" % i, "pending")
        self.assertEqual(len(small), 3)
        self.assertEqual([k for k in ("k7", "k8", "k9") if k in small], ["k7", "k8", "k9"])

    def test_seeing_a_file_again_keeps_its_schedule(self):
        self.status["/m/a"] = "pending"
        self.watcher.watch("k", "/m/a", "pending", "old")
        self.clock.now += 0.9
        self.watcher.watch("k", "/m/a", "pending", "new")
        self.clock.now += 0.1
        self.status["/m/a"] = "synced"
        self.assertEqual(self.watcher.poll(), ["new"])

    def test_a_forced_watch_lasts_until_a_change_or_its_timeout(self):
        self.status["/m/a"] = "local"
        self.watcher.watch("k", "/m/a", "local", "info", force=True)
        self.watcher.watch("k", "/m/a", "local", "info")  # the refresh the request caused
        self.assertIn("k", self.watcher)
        self.clock.now += 1
        self.assertEqual(self.watcher.poll(), [])
        self.status["/m/a"] = "pending"
        self.clock.now += 2
        self.assertEqual(self.watcher.poll(), ["info"])
        self.assertIn("k", self.watcher)

        self.status["/m/b"] = "local"  # an ignored name: stays local
        self.watcher.watch("j", "/m/b", "local", "info-b", force=True)
        for _ in range(40):
            self.clock.now += 1
            self.watcher.poll()
        self.assertNotIn("j", self.watcher, "dropped after force_timeout")

    def test_folders_above_a_changed_file_are_read_again(self):
        self.status.update({"/m": "failed", "/m/sub": "failed", "/m/sub/a": "pending", "/other": "failed"})
        self.watcher.remember_folder("root", "/m", "failed", "root-info")
        self.watcher.remember_folder("sub", "/m/sub/", "failed", "sub-info")
        self.watcher.remember_folder("other", "/other", "failed", "other-info")
        self.watcher.watch("a", "/m/sub/a", "pending", "a-info")
        self.status.update({"/m": "synced", "/m/sub": "synced", "/m/sub/a": "synced", "/other": "synced"})
        self.clock.now += 1
        changed = self.watcher.poll()
        self.assertEqual(changed[0], "a-info")
        self.assertEqual(sorted(changed[1:]), ["root-info", "sub-info"], "not /other")
        self.assertEqual(self.watcher.folders_changed_above("/m/sub/a"), [], "already seen as synced")
        self.status["/m/sub"] = "pending"
        self.assertEqual(self.watcher.folders_changed_above("/m/sub/b"), ["sub-info"])
        self.assertEqual(self.watcher.folders_changed_above("/m/sub"), [], "a folder is not above itself")
        del self.status["/m"]
        self.assertEqual(self.watcher.folders_changed_above("/m/x"), [])
        self.assertEqual(self.watcher.folder_count, 2, "a folder without a status is dropped")

    def test_reading_in_two_steps(self):
        self.watcher.watch("k", "/m/a", "pending", "info")
        self.assertEqual(self.watcher.due(), [])
        self.clock.now += 1
        due = self.watcher.due()
        self.assertEqual([(key, path) for key, path, _ in due], [("k", "/m/a")])
        token = due[0][2]
        self.assertEqual(self.watcher.due(), [], "not due again while it is read")
        self.assertIsNone(self.watcher.next_due(), "no timer while every file is being read")
        self.watcher.watch("k", "/m/a", "pending", "again")  # the file manager asks meanwhile
        self.assertEqual(self.watcher.seen("k", token, "pending"), [])
        self.assertEqual(self.watcher.next_due(), 1.5)
        self.clock.now += 1.5
        (_, _, token), = self.watcher.due()
        self.watcher.unseen("k", token)  # its mount did not answer
        self.assertEqual(self.watcher.next_due(), 4.0, "looked at again after the longest delay")
        self.clock.now += 4
        (_, _, token), = self.watcher.due()
        self.assertEqual(self.watcher.seen("k", token, "synced"), ["again"])
        self.assertNotIn("k", self.watcher)

    def test_an_answer_for_a_file_watched_anew_is_ignored(self):
        self.watcher.watch("k", "/m/a", "pending", "old")
        self.clock.now += 1
        (_, _, token), = self.watcher.due()
        self.watcher.watch("k", "/m/a", "failed", "new")  # described again, with another status
        self.assertEqual(self.watcher.seen("k", token, "synced"), [], "the answer to the old read")
        self.watcher.unseen("k", token)
        self.assertIn("k", self.watcher)
        self.assertEqual(self.watcher.next_due(), 5.0, "the new watch keeps its own schedule")

    def test_folders_in_two_steps(self):
        self.watcher.remember_folder("root", "/m", "pending", "root-info")
        self.watcher.remember_folder("other", "/n", "pending", "other-info")
        self.assertEqual(self.watcher.folders_above("/m/sub/a"), [("root", "/m")])
        self.assertEqual(self.watcher.folder_seen("root", "/m", "pending"), [])
        self.assertEqual(self.watcher.folder_seen("root", "/m", "synced"), ["root-info"])
        self.assertEqual(self.watcher.folder_seen("root", "/elsewhere", "failed"), [], "another folder now")
        self.assertEqual(self.watcher.folder_seen("root", "/m", None), [])
        self.assertEqual(self.watcher.folders_above("/m/sub/a"), [], "a folder without a status is dropped")

    def test_the_number_of_remembered_folders_is_bounded(self):
        small = ext.StatusWatcher(read=self.status.get, clock=self.clock, folder_limit=2)
        for i in range(5):
            small.remember_folder("f%d" % i, "/m/%d" % i, "synced")
        small.remember_folder("f3", "/m/3", "synced")  # seen again: most recent
        small.remember_folder("f5", "/m/5", "synced")
        self.status.update({"/m/3": "failed", "/m/4": "failed", "/m/5": "failed"})
        self.assertEqual(small.folder_count, 2)
        self.assertEqual(small.folders_changed_above("/m/3/a") + small.folders_changed_above("/m/5/a"),
                         [None, None])
        self.assertEqual(small.folders_changed_above("/m/4/a"), [], "the least recently seen was dropped")


class MonitoredWatchTests(unittest.TestCase):
    """The watch where the mount's event log is followed: a slow fallback."""

    def setUp(self):
        self.clock = Clock()
        self.status = {}
        self.followed = {"/m"}
        self.watcher = ext.StatusWatcher(read=self.status.get, clock=self.clock,
                                         monitored=lambda path: any(path.startswith(m + "/") for m in self.followed),
                                         monitored_delays=(30.0, 60.0))

    def test_the_default_fallback_is_slow(self):
        first, longest = ext.MONITORED_WATCH_DELAYS
        self.assertGreaterEqual(first, 30.0)
        self.assertGreaterEqual(longest, first)
        self.assertGreater(first, max(delay for delay, _ in ext.WATCH_DELAYS.values()))

    def test_files_of_a_followed_mount_are_looked_at_seldom(self):
        self.status.update({"/m/a": "pending", "/n/b": "pending"})
        self.watcher.watch("a", "/m/a", "pending", "a-info")
        self.watcher.watch("b", "/n/b", "pending", "b-info")
        self.assertEqual(self.watcher.next_due(), 1.0, "the other mount is not followed: polled")
        self.clock.now += 1
        self.assertEqual([key for key, _, _ in self.watcher.due()], ["b"])
        self.clock.now += 28.9
        self.assertEqual(self.watcher.due(), [])
        self.clock.now += 0.1
        (key, _, token), = self.watcher.due()
        self.assertEqual(key, "a")
        self.assertEqual(self.watcher.seen("a", token, "pending"), [])
        self.assertEqual(self.watcher._entries["a"]["delay"], 45.0)
        self.clock.now += 45
        (_, _, token), = self.watcher.due()
        self.watcher.unseen("a", token)
        self.assertEqual(self.watcher._entries["a"]["due"] - self.clock.now, 60.0, "the longest fallback delay")
        self.watcher.watch("f", "/m/f", "local", "f-info", force=True)
        self.assertEqual(self.watcher._entries["f"]["due"] - self.clock.now, 30.0, "after a request too")

    def test_a_file_watched_before_the_log_was_followed_moves_to_the_fallback_after_one_look(self):
        self.followed.clear()
        self.status["/m/a"] = "pending"
        self.watcher.watch("a", "/m/a", "pending", "a-info")
        self.assertEqual(self.watcher.next_due(), 1.0)
        self.followed.add("/m")  # the log is followed from now on
        self.clock.now += 1
        (_, _, token), = self.watcher.due()  # the one look that covers what the log began after
        self.watcher.seen("a", token, "pending")
        self.assertEqual(self.watcher.next_due(), 30.0)

    def test_when_the_log_is_no_longer_followed_the_files_are_polled_again(self):
        self.status.update({"/m/a": "pending", "/m/sub/b": "failed", "/mx/c": "pending"})
        self.watcher.watch("a", "/m/a", "pending", "a-info")
        self.watcher.watch("b", "/m/sub/b", "failed", "b-info")
        self.followed.add("/mx")
        self.watcher.watch("c", "/mx/c", "pending", "c-info")
        self.followed.clear()  # /m went away; /mx too, but only /m is rescheduled
        self.watcher.reschedule("/m")
        self.assertEqual(self.watcher._entries["a"]["due"] - self.clock.now, 1.0)
        self.assertEqual(self.watcher._entries["b"]["due"] - self.clock.now, 5.0, "failed: its own first delay")
        self.assertEqual(self.watcher._entries["c"]["due"] - self.clock.now, 30.0, "not below /m")
        self.followed.add("/m")
        self.watcher.reschedule("/m")
        self.assertEqual(self.watcher._entries["a"]["due"] - self.clock.now, 1.0, "never later than planned")

    def test_lost_lines_make_the_mounts_files_due_at_once(self):
        self.watcher.watch("a", "/m/a", "pending", "a-info")
        self.watcher.watch("b", "/m/b", "syncing", "b-info")
        self.watcher.watch("c", "/mx/c", "pending", "c-info")
        self.assertEqual(self.watcher.hurry("/m/"), 2)
        self.assertEqual(sorted(key for key, _, _ in self.watcher.due()), ["a", "b"])
        self.assertEqual(self.watcher.hurry("/m"), 0, "those being read are left alone")

    def test_the_files_and_folders_a_change_concerns(self):
        self.watcher.watch("a", "/m/sub/a", "pending", "a-info")
        self.watcher.watch("b", "/m/b", "pending", "b-info")
        self.assertEqual(self.watcher.payloads_at({"/m/sub/a", "/m/x"}), ["a-info"])
        gone = set()
        watcher = ext.StatusWatcher(read=self.status.get, clock=self.clock, is_gone=lambda info: info in gone)
        watcher.remember_folder("root", "/m", "pending", "root-info")
        watcher.remember_folder("sub", "/m/sub/", "pending", "sub-info")
        watcher.remember_folder("deep", "/m/sub/deeper", "pending", "deep-info")
        watcher.remember_folder("other", "/mx", "pending", "other-info")
        watcher.remember_folder("old", "/m/old", "pending", "old-info")
        gone.add("old-info")
        self.assertEqual(sorted(watcher.folders_holding({"/m/sub/a", "/m/sub/b", "/m/old/c"})),
                         [("root", "/m"), ("sub", "/m/sub")], "each once; not /mx, not a gone folder")
        self.assertEqual(watcher.folder_count, 4, "the gone folder was dropped")
        self.assertEqual(watcher.folders_holding({"/m/sub"}), [("root", "/m")], "a folder is not above itself")


LINE = {"attempts": 1, "bytes": 48000044, "key": "alice/2026/11/take1.wav", "path": "take1.wav",
        "previous": "syncing", "status": "synced", "time": "2026-11-25T14:03:07.123Z", "type": "syncSuccess"}


def line(path, status, **more):
    return json.dumps(dict(LINE, path=path, status=status, **more), sort_keys=True).encode()


class EventLineTests(unittest.TestCase):
    def test_a_line_gives_its_path_and_status(self):
        text = json.dumps(LINE, sort_keys=True)
        self.assertEqual(ext.parse_event_line(text), ("take1.wav", "synced"))
        self.assertEqual(ext.parse_event_line(text.encode()), ("take1.wav", "synced"), "bytes or text")
        self.assertEqual(ext.parse_event_line(b'{"path":"caf\xc3\xa9 \\\\ \\u00e9.wav","status":"failed"}'),
                         ("caf\u00e9 \\ \u00e9.wav", "failed"))

    def test_what_is_not_a_status_event_is_ignored(self):
        for bad in (b"", b"   ", b"not json", b'{"path": "a"', b"[1, 2]", b'"text"', b"null",
                    b'{"status": "synced"}', b'{"path": "", "status": "synced"}', b'{"path": "a"}',
                    b'{"path": "a", "status": ""}', b'{"path": 3, "status": "synced"}',
                    b'{"path": "a", "status": ["synced"]}', b'{"path": "a\\u0000b", "status": "synced"}',
                    b"\xff\xfe{}", b"[" * 100000):
            self.assertIsNone(ext.parse_event_line(bad), bad[:40])

    def test_changes_are_absolute_paths_with_their_last_status(self):
        lines = [line("a.wav", "syncing"), line("sub/b.wav", "pending"), b"garbage", line("a.wav", "synced"),
                 line("sub/../c.wav", "failed"), line("../escape.wav", "synced"), line("/etc/passwd", "synced"),
                 line("sub/./b.wav", "syncing"), line("..", "synced")]
        changes = ext.event_changes(lines, "/home/ana/Recordings/")
        self.assertEqual(list(changes.items()), [("/home/ana/Recordings/a.wav", "synced"),
                                                 ("/home/ana/Recordings/c.wav", "failed"),
                                                 ("/home/ana/Recordings/sub/b.wav", "syncing")],
                         "in the order they last changed; nothing outside the mount")
        self.assertEqual(ext.event_changes([], "/m"), {})


class LogTailTests(unittest.TestCase):
    def test_the_first_read_starts_at_the_end(self):
        tail = ext.LogTail()
        self.assertFalse(tail.started)
        self.assertEqual(tail.plan((1, 10), 5000), ext.ReadPlan(5000, 0, None), "history is not read")
        self.assertTrue(tail.started)
        self.assertEqual(tail.plan((1, 10), 5000), ext.ReadPlan(5000, 0, None), "nothing new")
        self.assertEqual(tail.plan((1, 10), 5120), ext.ReadPlan(5000, 120, None))

    def test_complete_lines_are_returned_and_a_partial_one_kept(self):
        tail = ext.LogTail()
        tail.plan((1, 10), 0)
        self.assertEqual(tail.feed(b'{"a":1}\n{"b":'), [b'{"a":1}'])
        self.assertEqual(tail.offset, 13)
        self.assertEqual(tail.feed(b"2}\n"), [b'{"b":2}'])
        self.assertEqual(tail.feed(b"\nx\ny\n"), [b"", b"x", b"y"])
        self.assertEqual(tail.plan((1, 10), 40), ext.ReadPlan(21, 19, None), "from where the last read ended")

    def test_a_line_over_the_limit_is_dropped_even_across_reads(self):
        tail = ext.LogTail(line_limit=10)
        tail.plan((1, 1), 0)
        self.assertEqual(tail.feed(b"0123456789\n01234567890\nok\n"), [b"0123456789", b"ok"])
        self.assertEqual(tail.feed(b"abcdef"), [])
        self.assertEqual(tail.feed(b"ghijkl"), [], "too long already: not kept")
        self.assertEqual(tail._partial, b"", "memory stays bounded")
        self.assertEqual(tail.feed(b"mnop" * 100), [])
        self.assertEqual(tail.feed(b"q\nnext\n"), [b"next"], "the end of the long line is dropped too")
        self.assertEqual(tail.dropped, 2)
        self.assertEqual(ext.EVENT_LINE_LIMIT, 64 * 1024)

    def test_a_rotated_log_is_read_from_its_start(self):
        tail = ext.LogTail()
        tail.plan((1, 10), 100)
        tail.feed(b"x" * 20)  # half a line read
        self.assertEqual(tail.plan((1, 11), 30), ext.ReadPlan(0, 30, "rotated"))
        self.assertEqual(tail.feed(b'{"new":1}\n'), [b'{"new":1}'], "the old partial line is not glued on")
        self.assertEqual(tail.identity, (1, 11))
        self.assertEqual(tail.plan((1, 11), 30), ext.ReadPlan(10, 20, None))

    def test_a_truncated_log_is_read_from_its_start(self):
        tail = ext.LogTail()
        tail.plan((1, 10), 100)
        self.assertEqual(tail.plan((1, 10), 40), ext.ReadPlan(0, 40, "truncated"))
        self.assertEqual(tail.plan((1, 10), 0), ext.ReadPlan(0, 0, None), "emptied: nothing to read yet")

    def test_reads_are_bounded(self):
        tail = ext.LogTail(read_limit=1000)
        tail.plan((1, 10), 0)
        self.assertEqual(tail.plan((1, 10), 1000), ext.ReadPlan(0, 1000, None), "up to the limit: read")
        tail.feed(b"abc")  # the end of a line, perhaps
        self.assertEqual(tail.plan((1, 10), 2004), ext.ReadPlan(2004, 0, "skipped"), "more: skipped")
        self.assertEqual(tail._partial, b"", "the cut line is not glued to the next one")
        self.assertEqual(tail.plan((1, 12), 5000), ext.ReadPlan(5000, 0, "rotated"), "a big new file: skipped too")
        self.assertEqual(ext.EVENT_READ_LIMIT, 1024 * 1024)


class EventLogFile:
    """Writes a log as recsync's EventLog does: one write per line, O_APPEND; past `rotate_at`
    bytes the file is renamed to NAME.1 (replacing it) and a new one started."""

    def __init__(self, path, rotate_at):
        self.path, self.rotate_at = path, rotate_at
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def emit(self, data):
        size = os.fstat(self.fd).st_size
        if size > 0 and size + len(data) > self.rotate_at:
            os.rename(self.path, self.path + ".1")
            os.close(self.fd)
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(self.fd, data)

    def close(self):
        os.close(self.fd)


def read_log(tail, path, chunk=7):
    """Reads as the extension does (open, fstat, seek, reads of at most `chunk` bytes, never more
    than the plan says); returns (lines, plan, bytes read)."""
    with open(path, "rb", buffering=0) as log:
        info = os.fstat(log.fileno())
        plan = tail.plan((info.st_dev, info.st_ino), info.st_size)
        log.seek(plan.offset)
        lines, left, count = [], plan.length, 0
        while left > 0:
            data = log.read(min(chunk, left))
            if not data:
                break
            count += len(data)
            left -= len(data)
            lines.extend(tail.feed(data))
        return lines, plan, count


class LogFileTests(unittest.TestCase):
    """LogTail on a real file that is appended to, rotated and truncated."""

    def setUp(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        self.path = os.path.join(folder, "events.jsonl")
        self.log = EventLogFile(self.path, rotate_at=600)  # three lines fit
        self.addCleanup(self.log.close)

    def statuses(self, lines):
        return [ext.parse_event_line(each) for each in lines]

    def test_following_across_appends_rotation_and_truncation(self):
        self.log.emit(line("old.wav", "synced") + b"\n")
        tail = ext.LogTail()
        self.assertEqual(read_log(tail, self.path)[0], [], "what was there before is history")
        self.log.emit(line("a.wav", "syncing") + b"\n")
        self.log.emit(line("a.wav", "synced") + b"\n")
        lines, plan, _ = read_log(tail, self.path)
        self.assertEqual(self.statuses(lines), [("a.wav", "syncing"), ("a.wav", "synced")])
        self.assertIsNone(plan.lost)
        self.log.emit(line("b.wav", "pending") + b"\n")  # past 600 bytes: rotated, then written
        self.assertTrue(os.path.exists(self.path + ".1"))
        lines, plan, _ = read_log(tail, self.path)
        self.assertEqual(plan.lost, "rotated")
        self.assertEqual(self.statuses(lines), [("b.wav", "pending")], "the new file, from its start")
        half = line("c.wav", "failed") + b"\n"
        os.write(self.log.fd, half[:20])  # a line caught half written
        self.assertEqual(read_log(tail, self.path)[0], [])
        os.write(self.log.fd, half[20:])
        self.assertEqual(self.statuses(read_log(tail, self.path)[0]), [("c.wav", "failed")])
        os.truncate(self.path, 0)
        self.log.emit(line("d.wav", "synced") + b"\n")
        lines, plan, _ = read_log(tail, self.path)
        self.assertEqual((plan.lost, self.statuses(lines)), ("truncated", [("d.wav", "synced")]))

    def test_never_more_than_the_limit_is_read(self):
        tail = ext.LogTail(read_limit=1000)  # five lines
        read_log(tail, self.path)
        self.log.rotate_at = 1 << 20
        for i in range(3):
            self.log.emit(line("f%d.wav" % i, "synced") + b"\n")
        lines, plan, count = read_log(tail, self.path)
        self.assertEqual((len(lines), plan.lost), (3, None))
        for i in range(10):
            self.log.emit(line("g%d.wav" % i, "synced") + b"\n")
        lines, plan, count = read_log(tail, self.path)
        self.assertEqual((lines, plan.lost, count), ([], "skipped", 0), "skipped, not read")
        self.log.emit(line("h.wav", "pending") + b"\n")
        self.assertEqual(self.statuses(read_log(tail, self.path)[0]), [("h.wav", "pending")], "then followed again")


class LogFollowerTests(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.loop = Loop(self.clock)
        self.reads = []
        self.follower = ext.LogFollower(lambda follower: self.reads.append(self.clock.now), self.loop.call_later,
                                        delay=0.15)

    def test_a_burst_of_changes_is_one_read(self):
        for _ in range(20):
            self.follower.changed()
            self.loop.advance(0.005)
        self.assertEqual(self.reads, [])
        self.loop.advance(0.1)
        self.assertEqual(self.reads, [100.15], "one read, the delay after the first change")
        self.assertEqual(len(self.loop.timers), 0)
        self.assertEqual(self.follower.changes, 20)

    def test_one_read_at_a_time_and_one_more_for_what_came_meanwhile(self):
        self.follower.changed()
        self.loop.advance(0.15)
        self.assertTrue(self.follower.reading)
        for _ in range(5):
            self.follower.changed()  # while the read runs
        self.loop.advance(1)
        self.assertEqual(len(self.reads), 1, "not while a read runs")
        self.follower.done()
        self.loop.advance(0.1)
        self.assertEqual(len(self.reads), 1)
        self.loop.advance(0.06)
        self.assertEqual(len(self.reads), 2, "one more, after the delay")
        self.follower.done()
        self.loop.advance(5)
        self.assertEqual(len(self.reads), 2, "nothing changed during it: no more")
        self.follower.done()  # a stray done does nothing
        self.assertFalse(self.follower.reading)

    def test_after_close_nothing_is_read(self):
        self.follower.changed()
        self.follower.close()
        self.loop.advance(1)
        self.follower.changed()
        self.loop.advance(1)
        self.assertEqual(self.reads, [])
        self.assertFalse(self.follower.active)

    def test_active_once_the_end_of_the_log_is_known(self):
        self.assertFalse(self.follower.active)
        self.follower.tail.plan((1, 1), 123)
        self.assertTrue(self.follower.active)

    def test_a_read_that_fails_to_start_lets_the_next_one_run(self):
        def broken(follower):
            raise OSError("no")

        follower = ext.LogFollower(broken, self.loop.call_later, delay=0.1)
        with self.assertLogs("recsync-file-manager", "ERROR"):
            follower.changed()
            self.loop.advance(0.1)
        self.assertFalse(follower.reading)
        self.assertEqual(follower.reads, 1)


# --- The glue, where the file manager's bindings are installed -------------------------------------

GLUE = getattr(ext, "RecsyncExtension", None)


class FakeInfo:
    def __init__(self, values):
        self.values = values

    def get_attribute_string(self, name):
        return self.values.get(name)


class Finishing:
    """A Gio.File as a completion sees it: its *_finish gives `info`, or raises `error`."""

    def __init__(self, info=None, error=None):
        self.info, self.error = info, error

    def query_info_finish(self, _result):
        if self.error is not None:
            raise self.error
        return self.info

    def set_attributes_finish(self, _result):
        if self.error is not None:
            raise self.error
        return True


@unittest.skipIf(GLUE is None, "the file manager's bindings are not installed")
class CompletionTests(unittest.TestCase):
    """A completion that fails in an unexpected way still tells the queue its job finished: the
    mount's places are not held for the rest of the session."""

    def setUp(self):
        self.extension = GLUE()
        self.started = []
        self.extension._queue = ext.RequestQueue(self.started.append, per_mount=2)

    def run_lane(self, done, keys, good):
        queue, answers = self.extension._queue, []
        jobs = [queue.submit("/m", key, answers.append) for key in keys]
        self.assertEqual(self.started, jobs[:2], "two run, one waits")
        with self.assertLogs("recsync-file-manager", "ERROR") as logged:
            done(Finishing(error=RuntimeError("a bug in a completion")), None, jobs[0])
        self.assertIn("a bug in a completion", "\n".join(logged.output))
        self.assertEqual(self.started, jobs, "the waiting job started in the place the failed one left")
        self.assertEqual(queue.running("/m"), 2)
        done(good, None, jobs[1])
        done(good, None, jobs[2])
        self.assertEqual((len(queue), queue.stalled("/m")), (0, False), "the lane is empty and takes requests")
        return answers

    def test_a_failing_read_completion(self):
        good = Finishing(FakeInfo({"xattr::sync.status": "synced"}))
        answers = self.run_lane(self.extension._read_done, [("read", "/m/%d" % i) for i in range(3)], good)
        self.assertEqual(answers, [ext.NO_ANSWER, ext.Attributes("synced", ""), ext.Attributes("synced", "")])

    def test_a_failing_events_completion(self):
        good = Finishing(FakeInfo({GLUE.events_attribute: "/state/events.jsonl"}))
        answers = self.run_lane(self.extension._events_done, [("events", "/m%d" % i) for i in range(3)], good)
        self.assertEqual(answers, [ext.NO_ANSWER, "/state/events.jsonl", "/state/events.jsonl"])

    def test_a_failing_write_completion(self):
        answers = self.run_lane(self.extension._write_done, [("request", "/m/%d" % i, "now") for i in range(3)],
                                Finishing())
        self.assertTrue(isinstance(answers[0], str) and "could not be sent" in answers[0], answers)
        self.assertEqual(answers[1:], [None, None])

    def test_a_gio_error_is_an_answer_as_before(self):
        error = ext.GLib.Error.new_literal(ext.Gio.io_error_quark(), "Error getting extended attribute: Permission denied",
                                           int(ext.Gio.IOErrorEnum.PERMISSION_DENIED))
        answers = []
        job = self.extension._queue.submit("/m", ("request", "/m/a", "now"), answers.append)
        self.extension._write_done(Finishing(error=error), None, job)
        job = self.extension._queue.submit("/m", ("read", "/m/a"), answers.append)
        self.extension._read_done(Finishing(error=error), None, job)
        self.assertEqual(answers, ["Permission denied", None])
        self.assertEqual(len(self.extension._queue), 0)


@unittest.skipIf(GLUE is None, "the file manager's bindings are not installed")
class FollowTests(unittest.TestCase):
    """Whose event log is followed, with GIO doing the work: a mount of another user's is not even
    asked; a path that is not a regular file of the viewer's (a FIFO, a device, a symbolic link,
    a folder, another user's file) is never opened, and its mount's files are looked at every few
    seconds instead."""

    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.folder)
        self.viewer = os.getuid()
        info = os.path.join(self.folder, "mountinfo")
        with open(info, "w") as text:
            text.write("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                       "2 1 0:40 / /srv/mine rw - fuse.recsync recsync rw,user_id=%d,group_id=0\n"
                       "3 1 0:41 / /srv/theirs rw - fuse.recsync recsync rw,user_id=%d,group_id=0\n"
                       "4 1 0:42 / /srv/nobody rw - fuse.recsync recsync rw\n" % (self.viewer, self.viewer + 1))
        self.extension = GLUE()
        self.extension._mounts = ext.MountTable(info, changed=None)
        self.started = []
        self.extension._queue = ext.RequestQueue(self.started.append)
        self.log = os.path.join(self.folder, "events.jsonl")
        with open(self.log, "w") as text:
            text.write('{"path": "a.wav", "status": "synced"}\n')

    def tearDown(self):
        for feed in self.extension._feeds.values():
            if feed.monitor is not None:
                feed.monitor.cancel()

    def pump_until(self, condition, timeout=5.0):
        context = ext.GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            if not context.iteration(False):
                time.sleep(0.005)
        return condition()

    def answered(self, path, mount="/srv/mine"):
        """Follows `mount`, with `path` as its root's answer; returns the feed once decided."""
        self.extension._follow(mount + "/a.wav")
        feed = self.extension._feeds[mount]
        job = self.started[-1]
        self.assertEqual(job.key, ("events", mount))
        self.extension._queue.finished(job, path)
        self.pump_until(lambda: feed.state not in ("asking", "checking"))
        return feed

    def assert_unopened(self, fifo):
        with self.assertRaises(OSError) as raised:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        self.assertEqual(raised.exception.errno, errno.ENXIO, "nobody has the FIFO open for reading")

    def test_a_mount_of_another_user_is_not_asked(self):
        for mount in ("/srv/theirs", "/srv/nobody"):
            self.extension._follow(mount + "/a.wav")
            self.assertEqual(self.extension._feeds[mount].state, "polling", mount)
        self.assertEqual(self.started, [], "its root was not asked for user.sync.events")
        self.extension._follow("/srv/mine/a.wav")
        self.assertEqual([job.key for job in self.started], [("events", "/srv/mine")])

    def test_root_follows_only_roots_mounts(self):
        self.extension._viewer = 0
        for mount in ("/srv/mine", "/srv/theirs"):
            self.extension._follow(mount + "/a.wav")
        self.assertEqual([job.key for job in self.started], [("events", "/srv/mine")] if self.viewer == 0 else [])

    def test_the_viewers_log_is_followed(self):
        feed = self.answered(self.log)
        self.assertEqual(feed.state, "following")
        self.assertIsNotNone(feed.monitor)
        self.assertTrue(self.pump_until(lambda: feed.active), "where the log ends was read")
        self.assertTrue(self.extension._followed("/srv/mine/a.wav"))

    def test_a_log_not_written_yet_is_followed(self):
        feed = self.answered(os.path.join(self.folder, "later.jsonl"))
        self.assertEqual(feed.state, "following")

    def test_what_is_not_a_regular_file_of_the_viewers_is_never_opened(self):
        fifo = os.path.join(self.folder, "fifo")
        os.mkfifo(fifo)
        link = os.path.join(self.folder, "link")
        os.symlink(self.log, link)
        for path in (fifo, link, self.folder, "/dev/null", "/dev/zero"):
            self.extension._feeds.clear()
            feed = self.answered(path)
            self.assertEqual((feed.state, feed.monitor, feed.follower), ("polling", None, None), path)
            self.assertFalse(self.extension._followed("/srv/mine/a.wav"))
        self.assert_unopened(fifo)
        # Another user's file, on a mount of that user's: the viewer is taken to be someone else.
        self.extension._feeds.clear()
        self.extension._viewer = self.viewer + 1
        feed = self.answered(self.log, mount="/srv/theirs")
        self.assertEqual(feed.state, "polling", "the log is not the viewer's")

    def test_a_log_replaced_by_a_fifo_stops_being_followed(self):
        feed = self.answered(self.log)
        self.assertTrue(self.pump_until(lambda: feed.active))
        os.remove(self.log)
        os.mkfifo(self.log)
        feed.follower.changed()
        self.assertTrue(self.pump_until(lambda: feed.state == "polling"), repr(feed))
        self.assertTrue(feed.follower.closed)
        self.assertIsNone(feed.monitor)
        self.assertFalse(self.extension._followed("/srv/mine/a.wav"))
        self.assert_unopened(self.log)
        self.extension._follow("/srv/mine/b.wav")
        self.assertEqual(len(self.started), 1, "not asked again while it stays mounted")


if __name__ == "__main__":
    unittest.main()
