#!/usr/bin/env python3
"""Unit tests of the file-manager extension's decisions (no mount, no display, no bindings
needed): status to emblem and label, selection to menu actions, requests, and the watch that
refreshes files whose status may still change.

    python3 Tests/file-manager/test_logic.py [-v]

Works with any Python 3; with the file manager's bindings installed it also loads the glue.
"""

import errno
import importlib.util
import os
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EXTENSION = os.path.join(HERE, "..", "..", "mount-helpers", "file-manager", "recsync_file_manager.py")


def load_extension():
    spec = importlib.util.spec_from_file_location("recsync_file_manager_logic", EXTENSION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ext = load_extension()
S = ext.SelectedFile


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
    def test_send_request_writes_the_attribute_and_collects_failures(self):
        calls = []

        def setxattr(path, name, value, follow_symlinks=True):
            calls.append((path, name, value, follow_symlinks))
            if path.endswith("bad"):
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), path)

        failures = ext.send_request(["/m/good", "/m/bad"], "now", setxattr=setxattr)
        self.assertEqual(calls, [("/m/good", "user.sync.request", b"now", False),
                                 ("/m/bad", "user.sync.request", b"now", False)])
        self.assertEqual([path for path, _ in failures], ["/m/bad"])
        message = ext.describe_failures("now", failures)
        self.assertIn("bad", message)
        self.assertIn("Invalid argument", message)
        self.assertEqual(ext.describe_failures("retry", []), "")

    def test_many_failures_are_summed_up(self):
        failures = [("/m/f%d" % i, OSError(errno.EIO, "I/O error")) for i in range(5)]
        self.assertTrue(ext.describe_failures("retry", failures).endswith("and 2 more"))

    def test_a_request_on_a_plain_file_fails_without_raising(self):
        with tempfile.NamedTemporaryFile() as plain:
            failures = ext.send_request([plain.name], "now")
        # A plain filesystem either refuses user.sync.request or stores it; it never raises.
        self.assertLessEqual(len(failures), 1)


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


if __name__ == "__main__":
    unittest.main()
