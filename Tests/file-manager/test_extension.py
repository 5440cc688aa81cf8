#!/usr/bin/python3
"""End-to-end test of the file-manager extension on a real recsync mount.

    /usr/bin/python3 Tests/file-manager/test_extension.py --recsync PATH/TO/recsync

Run it with Debian's Python (the one python3-gi and the file managers' bindings belong to).
It needs:

- a built recsync binary (--recsync, or RECSYNC_BIN);
- the local moto server: RECSYNC_TEST_MOTO_ENDPOINT, _ACCESS_KEY, _SECRET_KEY and _REGION,
  as scripts/servers/start-all.sh writes them to .servers/servers.env (a 127.0.0.1 endpoint);
- FUSE (/dev/fuse, fusermount3) and the GObject bindings of Nautilus 4.0 (gir1.2-nautilus-4.0),
  Nemo 3.0 (gir1.2-nemo-3.0) and Caja 2.0 (gir1.2-caja-2.0). A missing one is a failure,
  never a skip. scripts/install-deps.sh installs them all.

What it does:

1. mounts a temporary folder with `recsync mount --foreground` (auto_sync off, on a bucket that
   does not exist yet), checks that the extension's mount table, read before, knows the new
   mount at once, and writes files through it: three recordings (pending), a scratch file with
   an ignored name (local), one of them in a subfolder; and a file outside the mount;
2. loads the extension with the real Nautilus bindings, as nautilus-python does, and gives it
   each file as a Nautilus.FileInfo. Real NautilusFile objects exist only inside the Nautilus
   process (Nautilus.FileInfo.create_for_uri crashes anywhere else: Nautilus installs the
   function behind it when it starts), so the test passes a GObject of its own that implements
   the Nautilus.FileInfo interface; the extension's calls (add_emblem, get_location,
   invalidate_extension_info, info_provider_update_complete_invoke, ...) go through
   libnautilus-extension as they do in Nautilus, and the menu items and columns it returns are
   real Nautilus.MenuItem and Nautilus.Column. It is asked as nautilus-python asks it:
   update_file_info_full, which must answer IN_PROGRESS for the mount's files and complete each
   once from the main loop, and COMPLETE at once, with no system call on it, for the file
   outside;
3. checks the emblems, the "Sync Status" column and the menu items of every file against
   `user.sync.status` read with os.getxattr, and that the emblem icons exist in the theme;
4. activates the menu items as a user would: "Upload Now" on a pending file (recsync tries at
   once and fails: NoSuchBucket), "Retry Upload" on it once the bucket exists, "Upload Now" on
   several files; checks that recsync acted on each request, that the objects reached the
   bucket, and that the extension refreshed the emblems by itself (its own GLib timer calls
   invalidate_extension_info; the test only runs the main loop);
5. loads the extension the way nemo-python and caja-python do (in a process of its own that has
   imported Nemo 3.0, or Caja 2.0, first) and checks its emblems, columns and menu items there;
6. when Nautilus, Xvfb and dbus-daemon are installed (and RECSYNC_TEST_SCREENSHOT is not 0):
   starts the real Nautilus on the mount under Xvfb with the extension installed for it, from
   before the bucket exists until the end, checks in its log that it showed the files with the
   right statuses and followed them to `synced` without a reload, and saves two screenshots
   (before, after) into RECSYNC_TEST_ARTIFACTS (a new temporary folder by default). When one
   of these programs is missing, or Nautilus cannot start, only this part is skipped, with a
   note;
7. checks the event log: the root folder's user.sync.events names it; a new instance of the
   extension, whose fallback would look again only after an hour, follows it with one file
   monitor, and a file uploaded by a request the extension is not told of (written here) gets its
   new emblem, and its folder too, within a second of recsync writing the line; an instance that
   cannot read the attribute (asking for a name recsync does not have, which GIO answers as it
   answers EACCES: no attribute) has no monitor and still follows the file by looking again
   every few seconds; a second mount gets a monitor of its own, cancelled and dropped when it is
   unmounted; a file whose name is not UTF-8 (recsync writes it in its text form) gets its new
   emblem from its line of the log;
8. checks whose log is followed: the mount's owner comes from user_id= in /proc/self/mountinfo;
   an instance that takes itself for another user does not ask the mount for user.sync.events;
   instances whose mount answers with a FIFO, a symbolic link, a device, a folder or (as root)
   another user's file do not follow it, never open the FIFO, and look at the file again every
   few seconds instead;
9. makes three read completions fail with an exception (in one instance only) and checks that
   they are logged, that the queue hears each one finished, and that the mount's lane keeps
   working;
10. stops the recsync daemon it started (SIGSTOP to that pid, nothing else is signalled) and
    checks that the extension answers at once, keeps the main loop running, gives up on the
    files the mount does not answer about, keeps only two requests waiting for it, and shows
    the files again once the daemon is continued (SIGCONT; cleanup continues it in any case).

Always unmounts and ends the processes it started (by their pid), even when a check fails.
Prints one line per check and "N passed, N failed" at the end; exits 1 when any check failed.
"""

import argparse
import datetime
import errno
import functools
import hashlib
import hmac
import importlib
import importlib.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_EXTENSION = os.path.join(REPOSITORY, "mount-helpers", "file-manager", "recsync_file_manager.py")

# What a user must see, written down here independently of the extension's own table.
EXPECTED_EMBLEMS = {
    "local": [],
    "pending": ["emblem-synchronizing"],
    "syncing": ["emblem-synchronizing"],
    "synced": ["emblem-default"],
    "failed": ["emblem-important"],
}
EXPECTED_MENUS = {
    "local": ["Upload Now"],
    "pending": ["Upload Now"],
    "syncing": [],
    "synced": [],
    "failed": ["Retry Upload", "Upload Now"],
}
ICON_THEMES = ["/usr/share/icons/Adwaita", "/usr/share/icons/hicolor"]
OTHER_BINDINGS = [("Nemo", "3.0"), ("Caja", "2.0")]


class Fatal(Exception):
    """A failure after which the rest of the test cannot run."""


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, condition, name, detail=""):
        if condition:
            self.passed += 1
            print("ok   %s" % name, flush=True)
        else:
            self.failed.append(name)
            print("FAIL %s%s" % (name, (": " + detail) if detail else ""), flush=True)
        return condition

    def fatal(self, name, detail):
        self.failed.append(name)
        print("FAIL %s: %s" % (name, detail), flush=True)
        raise Fatal(name)


def status_of(path):
    try:
        return os.getxattr(path, "user.sync.status", follow_symlinks=False).decode()
    except OSError:
        return None


def attribute(path, name):
    try:
        return os.getxattr(path, name, follow_symlinks=False).decode()
    except OSError:
        return None


def icon_exists(name):
    for theme in ICON_THEMES:
        for _, _, files in os.walk(theme):
            if any(f.rsplit(".", 1)[0] == name for f in files):
                return True
    return False


def load_extension(path, name="recsync_file_manager"):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def provider_classes(module, fm):
    """As the file managers' Python loaders find them: every class of the module that
    implements one of the provider interfaces."""
    interfaces = (fm.InfoProvider, fm.MenuProvider, fm.ColumnProvider)
    return [value for value in vars(module).values() if isinstance(value, type) and issubclass(value, interfaces)]


class PathCalls:
    """Records the calls the extension could make on a file, in this process, while it is in
    use: the os module's xattr and stat functions, and GIO's file queries (which the extension
    starts; the system calls then happen in GIO's threads)."""

    OS = ("getxattr", "setxattr", "listxattr", "removexattr", "stat", "lstat", "access")
    GIO = ("query_info", "query_info_async", "set_attributes_async", "set_attributes_from_info",
           "set_attribute", "set_attribute_string", "query_file_type", "query_exists")

    def __init__(self, Gio):
        self.Gio = Gio
        self.calls = []
        self.saved = []

    def __enter__(self):
        for name in self.OS:
            self._wrap(os, name, lambda args: args[0] if args else None)
        for name in self.GIO:
            self._wrap(self.Gio.File, name, lambda args: args[0].get_path() if args else None)
        return self

    def _wrap(self, owner, name, path_of):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            self.calls.append((name, path_of(args)))
            return original(*args, **kwargs)

        self.saved.append((owner, name, original))
        setattr(owner, name, wrapper)

    def __exit__(self, *exc):
        for owner, name, original in reversed(self.saved):
            setattr(owner, name, original)
        self.saved = []

    def on(self, path):
        return [name for name, called in self.calls if isinstance(called, (str, bytes)) and os.fsdecode(called) == path]


# --- A minimal S3 client (SigV4, standard library only) for the bucket and the objects ---------

class S3:
    def __init__(self, endpoint, access_key, secret_key, region):
        self.endpoint = endpoint.rstrip("/")
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region

    def request(self, method, path, body=b""):
        url = self.endpoint + urllib.parse.quote(path, safe="/~")
        parts = urllib.parse.urlsplit(url)
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        headers = {"host": parts.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
        names = sorted(headers)
        canonical = "\n".join([method, parts.path or "/", "", "".join("%s:%s\n" % (n, headers[n]) for n in names),
                               ";".join(names), payload])
        scope = "%s/%s/s3/aws4_request" % (day, self.region)
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                                    % (self.access_key, scope, ";".join(names), signature))
        del headers["host"]
        request = urllib.request.Request(url, data=body if method == "PUT" else None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


# --- The stand-in for the file managers' own FileInfo ------------------------------------------

def make_handle_class(fm, GLib):
    """An OperationHandle Python can make. The file manager makes the real one (Nautilus passes
    NULL, Nemo a pointer of its own); from Python the struct cannot be created (GI knows no size
    for it). A subclass with the layout of a small struct can be, is one for GI's type check, and
    reaches the extension library as a pointer, as the real one does."""

    class TestHandle(fm.OperationHandle):
        __info__ = GLib.DebugKey.__info__

    return TestHandle


def make_file_info_class(fm, GObject, Gio, GLib):
    """A FileInfo class for the bindings `fm` (Nautilus, Nemo and Caja share the interface)."""
    Handle = make_handle_class(fm, GLib)
    in_progress, complete = fm.OperationResult.IN_PROGRESS, fm.OperationResult.COMPLETE

    class TestFileInfo(GObject.Object, fm.FileInfo):
        """A file as the file manager hands it to extensions: implements the FileInfo interface
        (so calls go through the file manager's extension library), and asks the providers as
        the file manager does: update_file_info_full with a handle and a closure, then, when a
        provider answers IN_PROGRESS, waits for the closure (through the extension library's
        info_provider_update_complete_invoke) while the main loop runs. The emblems and
        attributes added take effect when the provider completes, and on
        invalidate_extension_info the providers are asked again from the main loop.

        Like the file manager's own, it answers is_directory from what it learnt when it was made
        (no system call); while `TestFileInfo.hung` is set, is_gone makes none either."""

        hung = False

        def __init__(self, path, providers, file_type=None):
            super().__init__()
            self.path = path
            self.gfile = Gio.File.new_for_path(path)
            self.providers = providers
            self.file_type = file_type if file_type is not None else \
                self.gfile.query_file_type(Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, None)
            self.emblems = []
            self.attributes = {}
            self.pending = None
            self.invalidations = 0
            self.invalidated_at = []  # time.monotonic() of each invalidate_extension_info
            self.results = []       # what update_file_info_full returned, each time
            self.completions = []   # (provider, handle pointer, result, the handle given, on the main thread)
            self.asked = 0

        def start_describe(self):
            """Asks the providers; returns whether all answered (else they complete later)."""
            self.asked += 1
            asked = self.asked
            self.pending = {"emblems": [], "attributes": {}, "left": 0}
            for provider in self.providers:
                handle = Handle()

                def completed(from_provider, handle_pointer, result, asked=asked, handle=handle):
                    self.completions.append((from_provider, handle_pointer, result, hash(handle),
                                             threading.current_thread() is threading.main_thread()))
                    self._answered(asked)

                if hasattr(provider, "update_file_info_full"):
                    result = provider.update_file_info_full(provider, handle, completed, self)
                else:
                    result = provider.update_file_info(self)
                self.results.append(result)
                if result == in_progress:
                    self.pending["left"] += 1
            if self.pending["left"] == 0:
                self._apply()
                return True
            return False

        def _answered(self, asked):
            if asked != self.asked:  # an answer for an earlier request: what it added is stale
                if self.pending is not None:
                    self.pending = {"emblems": [], "attributes": {}, "left": self.pending["left"]}
                return
            self.pending["left"] -= 1
            if self.pending["left"] == 0:
                self._apply()

        def _apply(self):
            self.emblems, self.attributes = self.pending["emblems"], self.pending["attributes"]
            self.pending = None

        @property
        def describing(self):
            return self.pending is not None

        def describe(self, timeout=15):
            """Asks the providers and runs the main loop until they answered."""
            if not self.start_describe():
                context = GLib.MainContext.default()
                deadline = time.monotonic() + timeout
                while self.describing and time.monotonic() < deadline:
                    if not context.iteration(False):
                        time.sleep(0.005)
                if self.describing:
                    raise AssertionError("%s: no answer from the extension after %d s" % (self.path, timeout))
            return self

        def _refresh(self):
            self.start_describe()
            return False

        def do_is_gone(self):
            return False if TestFileInfo.hung else not os.path.lexists(self.path)

        def do_get_name(self):
            return self.gfile.get_basename()

        def do_get_uri(self):
            return self.gfile.get_uri()

        def do_get_parent_uri(self):
            return self.gfile.get_parent().get_uri()

        def do_get_uri_scheme(self):
            return self.gfile.get_uri_scheme()

        def do_get_mime_type(self):
            return "inode/directory" if self.do_is_directory() else "application/octet-stream"

        def do_is_mime_type(self, mime_type):
            return mime_type == self.do_get_mime_type()

        def do_is_directory(self):
            return self.file_type == Gio.FileType.DIRECTORY

        def do_get_file_type(self):
            return self.file_type

        def do_get_location(self):
            return self.gfile

        def do_get_parent_location(self):
            return self.gfile.get_parent()

        def do_get_activation_uri(self):
            return self.gfile.get_uri()

        def do_can_write(self):
            return os.access(self.path, os.W_OK)

        def do_add_emblem(self, emblem_name):
            (self.pending or {"emblems": self.emblems})["emblems"].append(emblem_name)

        def do_add_string_attribute(self, attribute_name, value):
            (self.pending or {"attributes": self.attributes})["attributes"][attribute_name] = value

        def do_get_string_attribute(self, attribute_name):
            return self.attributes.get(attribute_name)

        def do_invalidate_extension_info(self):
            self.invalidations += 1
            self.invalidated_at.append(time.monotonic())
            GLib.idle_add(self._refresh)

    TestFileInfo.in_progress, TestFileInfo.complete = in_progress, complete
    return TestFileInfo


def result_name(fm, value):
    """An OperationResult (the closure gets it as an int from Nemo) as its nick: "in-progress"."""
    try:
        return fm.OperationResult(int(value)).value_nick.replace("_", "-")
    except (TypeError, ValueError):
        return repr(value)


def check_bindings(name, version, extension, paths):
    """Child mode: load the extension as nemo-python or caja-python does and print what it
    gives for each path, as JSON."""
    import gi
    gi.require_version(name, version)
    fm = importlib.import_module("gi.repository." + name)  # the loader imports its API first
    from gi.repository import Gio, GLib, GObject
    module = load_extension(extension)
    classes = provider_classes(module, fm)
    result = {"file_manager": getattr(module, "FILE_MANAGER", None), "classes": [c.__name__ for c in classes]}
    if len(classes) != 1:
        print(json.dumps(result))
        return
    cls = classes[0]
    result["interfaces"] = sorted(i.__name__ for i in (fm.InfoProvider, fm.MenuProvider, fm.ColumnProvider,
                                                       getattr(fm, "NameAndDescProvider", None)) if i and issubclass(cls, i))
    extension = cls()
    if hasattr(fm, "NameAndDescProvider"):
        result["name_and_desc"] = extension.get_name_and_desc()
    columns = extension.get_columns()
    result["columns"] = [c.props.label for c in columns if isinstance(c, fm.Column)]
    status_attribute = next((c.props.attribute for c in columns if c.props.label == "Sync Status"), None)
    FileInfo = make_file_info_class(fm, GObject, Gio, GLib)
    files = {}
    for path in paths:
        info = FileInfo(path, [extension]).describe()
        items = extension.get_file_items(None, [info])  # the window first, then the files
        files[path] = {"emblems": info.emblems, "column": info.attributes.get(status_attribute),
                       "menu": sorted(item.props.label for item in items if isinstance(item, fm.MenuItem)),
                       "items": len(items), "results": [result_name(fm, r) for r in info.results],
                       "completions": [result_name(fm, c[2]) for c in info.completions
                                       if c[0] is extension and hash(c[1]) == c[3]]}
    result["files"] = files
    print(json.dumps(result))


# --- The test ------------------------------------------------------------------------------------

class Run:
    def __init__(self, args, report):
        self.args = args
        self.report = report
        self.processes = []  # (name, Popen) started by this test, ended in cleanup()
        self.daemon = None
        self.daemon_stopped = False
        self.root = None
        self.mountpoint = None
        self.other_mounts = []  # more mounts made by the test, unmounted in cleanup()
        self.nautilus = None

    # processes and the mount

    def start(self, name, argv, **kwargs):
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        process = subprocess.Popen(argv, **kwargs)
        self.processes.append((name, process))
        return process

    @staticmethod
    def stop(name, process, grace=10):
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            print("note: %s (pid %d) ignored SIGTERM; killing it" % (name, process.pid), flush=True)
            process.kill()
            process.wait(10)

    def is_mounted(self, point=None):
        point = point or self.mountpoint
        with open("/proc/self/mountinfo") as info:
            return any(len(line.split(" ")) > 4 and line.split(" ")[4] == point for line in info)

    def cleanup(self):
        # A daemon the hung-mount check stopped goes on first. Then the file manager and its
        # display (they keep the mount busy), then the mount, then the daemon, which ends by
        # itself once unmounted.
        self.resume_daemon()
        for name, process in reversed(self.processes):
            if name != "recsync":
                self.stop(name, process)
        for point in self.other_mounts:
            if self.is_mounted(point):
                subprocess.run(["fusermount3", "-u", point], capture_output=True)
        if self.mountpoint and self.is_mounted():
            for _ in range(20):
                if subprocess.run(["fusermount3", "-u", self.mountpoint], capture_output=True).returncode == 0:
                    break
                time.sleep(0.5)
        for name, process in self.processes:
            if name == "recsync":
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    self.stop(name, process)
        for point in [self.mountpoint] + self.other_mounts:
            if point and self.is_mounted(point):
                print("note: %s still mounted; detaching it lazily" % point, flush=True)
                subprocess.run(["fusermount3", "-uz", point])
        for name, process in self.processes:
            if process.poll() is None:
                print("note: %s (pid %d) still running after cleanup" % (name, process.pid), flush=True)
        if self.root and not self.args.keep and not any(p and self.is_mounted(p) for p in [self.mountpoint] + self.other_mounts):
            shutil.rmtree(self.root, ignore_errors=True)
        elif self.root:
            print("note: test files kept in %s" % self.root, flush=True)

    def daemon_log(self, name="recsync.log"):
        try:
            with open(os.path.join(self.root, name), errors="replace") as log:
                return log.read()[-4000:]
        except OSError:
            return "(no log)"

    # preconditions

    def preconditions(self):
        report = self.report
        binary = self.args.recsync or os.environ.get("RECSYNC_BIN")
        if not binary or not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            report.fatal("recsync binary", "give the built binary with --recsync PATH or RECSYNC_BIN (got %r)" % binary)
        self.binary = os.path.abspath(binary)
        env = os.environ
        names = ["RECSYNC_TEST_MOTO_ENDPOINT", "RECSYNC_TEST_MOTO_ACCESS_KEY", "RECSYNC_TEST_MOTO_SECRET_KEY"]
        missing = [name for name in names if not env.get(name)]
        if missing:
            report.fatal("S3 server", "%s not set: start scripts/servers/start-all.sh and source .servers/servers.env"
                         % ", ".join(missing))
        self.endpoint = env["RECSYNC_TEST_MOTO_ENDPOINT"]
        host = urllib.parse.urlsplit(self.endpoint).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            report.fatal("S3 server", "the endpoint must be on this machine, not %s" % self.endpoint)
        self.region = env.get("RECSYNC_TEST_MOTO_REGION") or "us-east-1"
        self.s3 = S3(self.endpoint, env["RECSYNC_TEST_MOTO_ACCESS_KEY"], env["RECSYNC_TEST_MOTO_SECRET_KEY"], self.region)
        if not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None:
            report.fatal("FUSE", "/dev/fuse and fusermount3 are needed (Debian package fuse3)")
        if not os.path.isfile(self.args.extension):
            report.fatal("extension", "%s does not exist" % self.args.extension)
        hint = ("install gir1.2-nautilus-4.0, gir1.2-nemo-3.0 and gir1.2-caja-2.0 (scripts/install-deps.sh) "
                "and run this with Debian's /usr/bin/python3 (this is %s)" % sys.executable)
        try:
            import gi
            gi.require_version("Nautilus", "4.0")
            from gi.repository import Gio, GLib, GObject, Nautilus
        except (ImportError, ValueError) as error:
            report.fatal("Nautilus bindings", "%s; %s" % (error, hint))
        for name, version in OTHER_BINDINGS:
            found = gi.Repository.get_default().enumerate_versions(name)
            if version not in found:
                report.fatal("%s bindings" % name, "no %s %s typelib (found %s); %s" % (name, version, found, hint))
        self.Nautilus, self.GObject, self.Gio, self.GLib = Nautilus, GObject, Gio, GLib
        report.check(True, "preconditions: recsync binary, moto on %s, FUSE, Nautilus, Nemo and Caja bindings"
                     % self.endpoint)

    # the mount

    def start_daemon(self, mountpoint, state, log_name):
        """Mounts `mountpoint` with recsync (auto_sync off, the test's bucket); returns the daemon
        once the mount answers."""
        config = os.path.join(self.root, "config.toml")
        with open(config, "w") as text:
            text.write("[sync]\nauto_sync = false\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=self.s3.access_key, AWS_SECRET_ACCESS_KEY=self.s3.secret_key)
        with open(os.path.join(self.root, log_name), "wb") as log:
            daemon = self.start("recsync", [self.binary, "mount", "--foreground", mountpoint,
                                            "--bucket", self.bucket, "--endpoint", self.endpoint, "--region", self.region,
                                            "--state-dir", os.path.join(self.root, state), "--config", config,
                                            "--log-level", "debug"], stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 30
        while True:
            if daemon.poll() is not None:
                self.report.fatal("mount", "recsync exited with %s before %s was live:\n%s"
                                  % (daemon.returncode, mountpoint, self.daemon_log(log_name)))
            if self.is_mounted(mountpoint) and status_of(mountpoint) is not None:
                return daemon
            if time.monotonic() > deadline:
                self.report.fatal("mount", "%s not mounted after 30 s:\n%s" % (mountpoint, self.daemon_log(log_name)))
            time.sleep(0.1)

    def mount(self):
        self.root = tempfile.mkdtemp(prefix="recsync-fm-")
        self.mountpoint = os.path.join(self.root, "Recordings")
        os.mkdir(self.mountpoint)
        self.bucket = "fm-" + uuid.uuid4().hex[:16]
        # The extension's mount table, read before the mount exists and not again by age.
        table = load_extension(self.args.extension, "recsync_mount_table_probe").MountTable(max_age=3600)
        before = table.recsync_mount(self.mountpoint)
        daemon = self.start_daemon(self.mountpoint, "state", "recsync.log")
        self.daemon = daemon
        self.report.check(True, "recsync mounted %s (pid %d, bucket %s not created yet)"
                          % (self.mountpoint, daemon.pid, self.bucket))
        found = table.recsync_mount(self.path("take.wav"))
        self.report.check(before is None and found == self.mountpoint and table.reads == 2,
                          "the extension's mount table sees the new mount at once (fuse.recsync, from the "
                          "kernel's change notice on /proc/self/mountinfo)",
                          "before %r, after %r, %d reads" % (before, found, table.reads))

    def path(self, name):
        return os.path.join(self.mountpoint, name)

    def write(self, name, content):
        with open(self.path(name), "wb") as file:
            file.write(content)

    def wait_status(self, name, expected, timeout=30):
        """Waits for user.sync.status, running the main loop meanwhile (the extension's timer)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = status_of(self.path(name))
            if last == expected:
                return True
            self.pump(0.05)
        self.report.check(False, "%s becomes %s" % (name, expected),
                          "still %s after %d s; error: %s\n%s" % (last, timeout, attribute(self.path(name), "user.sync.error"),
                                                                  self.daemon_log()))
        return False

    def pump(self, seconds):
        context = self.GLib.MainContext.default()
        end = time.monotonic() + seconds
        while True:
            while context.pending():
                context.iteration(False)
            if time.monotonic() >= end:
                return
            time.sleep(0.02)

    def pump_until(self, condition, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return True
            self.pump(0.05)
        return condition()

    # the extension under the Nautilus bindings

    def load(self):
        Nautilus = self.Nautilus
        module = load_extension(self.args.extension)
        self.report.check(getattr(module, "FILE_MANAGER", None) == "Nautilus", "the extension picked the Nautilus API",
                          "FILE_MANAGER = %r" % getattr(module, "FILE_MANAGER", None))
        classes = provider_classes(module, Nautilus)
        if len(classes) != 1:
            self.report.fatal("extension classes", "expected one provider class, found %r" % classes)
        cls = classes[0]
        for interface in (Nautilus.InfoProvider, Nautilus.MenuProvider, Nautilus.ColumnProvider):
            self.report.check(issubclass(cls, interface), "%s implements Nautilus.%s" % (cls.__name__, interface.__name__))
        self.extension = cls()
        self.FileInfo = make_file_info_class(Nautilus, self.GObject, self.Gio, self.GLib)
        columns = self.extension.get_columns()
        self.report.check(all(isinstance(c, Nautilus.Column) for c in columns) and
                          any(c.props.label == "Sync Status" for c in columns),
                          "get_columns gives a real Nautilus.Column \"Sync Status\"",
                          repr([(c.props.name, c.props.label) for c in columns]))
        self.status_attribute = next((c.props.attribute for c in columns if c.props.label == "Sync Status"), None)

    def info(self, path):
        return self.FileInfo(path, [self.extension]).describe()

    def check_emblems(self, file_info, label):
        status = status_of(file_info.path)
        expected = EXPECTED_EMBLEMS.get(status, []) if status is not None else []
        self.report.check(file_info.emblems == expected, "%s: %s gives emblems %s" % (label, status, expected),
                          "got %s" % file_info.emblems)
        if status is None:
            self.report.check(file_info.attributes == {}, "%s: no attributes outside a mount" % label,
                              repr(file_info.attributes))
        else:
            self.report.check(bool(file_info.attributes.get(self.status_attribute)),
                              "%s: the Sync Status column says %r" % (label, file_info.attributes.get(self.status_attribute)))

    def menu(self, infos):
        items = self.extension.get_file_items(infos)  # the Nautilus 4.0 signature: files only
        for item in items:
            if not isinstance(item, self.Nautilus.MenuItem):
                self.report.fatal("menu", "get_file_items gave %r, not a Nautilus.MenuItem" % item)
        return {item.props.label: item for item in items}

    # the scenario

    TAKE1, BROKEN, SCRATCH, TAKE2 = "take1.wav", "broken.wav", "scratch.part", "interviews/take2.wav"
    CONTENTS = {TAKE1: b"RIFF take one " * 100, BROKEN: b"RIFF broken " * 50, TAKE2: b"RIFF take two " * 80}

    def before_the_bucket(self):
        report = self.report
        os.mkdir(self.path("interviews"))
        for name, content in self.CONTENTS.items():
            self.write(name, content)
        self.write(self.SCRATCH, b"scratch")
        self.outside = os.path.join(self.root, "outside.wav")
        with open(self.outside, "wb") as file:
            file.write(b"not in a mount")
        for name in self.CONTENTS:
            self.wait_status(name, "pending")
        report.check(status_of(self.path(self.SCRATCH)) == "local", "an ignored name stays local",
                     repr(status_of(self.path(self.SCRATCH))))
        report.check(status_of(self.outside) is None, "a file outside the mount has no user.sync.status")

        self.load()
        for emblems in EXPECTED_EMBLEMS.values():
            for emblem in emblems:
                report.check(icon_exists(emblem), "icon %s exists in the icon theme" % emblem)

        infos = self.infos = {name: self.info(self.path(name))
                              for name in [self.TAKE1, self.BROKEN, self.SCRATCH, self.TAKE2, "interviews"]}
        infos["mount"] = self.info(self.mountpoint)
        outside = self.FileInfo(self.outside, [self.extension])
        submitted = self.extension._queue.counts["submitted"]
        with PathCalls(self.Gio) as calls:
            started = time.monotonic()
            outside.describe()
            took = time.monotonic() - started
            self.pump(0.3)
        infos["outside"] = outside
        for label, file_info in infos.items():
            self.check_emblems(file_info, label)
        report.check(not calls.on(self.outside) and self.extension._queue.counts["submitted"] == submitted,
                     "a file outside recsync mounts: no xattr, stat or GIO call on it, nothing queued",
                     "calls %s" % calls.on(self.outside))
        report.check(outside.results == [outside.complete] and outside.completions == [] and took < 0.5,
                     "a file outside recsync mounts: update_file_info_full answers COMPLETE at once (%.3f s)" % took,
                     "results %s, completions %s" % (outside.results, outside.completions))
        mine = [infos[name] for name in [self.TAKE1, self.BROKEN, self.SCRATCH, self.TAKE2, "interviews", "mount"]]
        report.check(all(i.results == [i.in_progress] for i in mine),
                     "update_file_info_full answers IN_PROGRESS for each file and folder of the mount",
                     repr([(i.path, i.results) for i in mine]))
        report.check(all(len(i.completions) == 1 and i.completions[0][0] is self.extension
                         and hash(i.completions[0][1]) == i.completions[0][3] and int(i.completions[0][2]) == int(i.complete)
                         and i.completions[0][4] for i in mine),
                     "each completes once, from the main thread, through info_provider_update_complete_invoke "
                     "with its provider, its handle and COMPLETE",
                     repr([(i.path, i.completions) for i in mine]))
        report.check(infos[self.TAKE1].emblems == ["emblem-synchronizing"], "a pending file shows emblem-synchronizing")
        column = infos[self.TAKE1].attributes.get(self.status_attribute, "")
        report.check(column.startswith("Waiting to upload (paused: auto sync is off"),
                     "the Sync Status column says why a file waits", repr(column))
        report.check(infos["outside"].emblems == [], "a file outside the mount gets no emblem")

        menu = self.menu([infos[self.BROKEN]])
        report.check(sorted(menu) == ["Upload Now"], "pending file: the menu offers Upload Now only", repr(sorted(menu)))
        menu = self.menu([infos[self.TAKE1], infos[self.SCRATCH], infos["interviews"], infos["outside"]])
        report.check(sorted(menu) == ["Upload Now"] and menu["Upload Now"].props.tip.startswith("Upload these 2"),
                     "mixed selection: Upload Now for the 2 files of the mount", repr(sorted(menu)))
        report.check(self.menu([infos["outside"]]) == {}, "no menu items outside a mount")
        report.check(self.menu([infos["interviews"]]) == {}, "no menu items for a folder")

        # Upload Now on a pending file: recsync tries at once, and the bucket is missing.
        before = infos[self.BROKEN].invalidations
        self.menu([infos[self.BROKEN]])["Upload Now"].activate()
        if self.wait_status(self.BROKEN, "failed"):
            error = attribute(self.path(self.BROKEN), "user.sync.error") or ""
            report.check("NoSuchBucket" in error, "Upload Now reached recsync: the upload was tried (NoSuchBucket)", error)
        self.pump_until(lambda: infos[self.BROKEN].emblems == ["emblem-important"], 15)
        report.check(infos[self.BROKEN].emblems == ["emblem-important"],
                     "the emblem turned to emblem-important by itself", "got %s" % infos[self.BROKEN].emblems)
        report.check(infos[self.BROKEN].invalidations > before, "the extension called invalidate_extension_info")
        self.pump_until(lambda: infos["mount"].emblems == ["emblem-important"], 15)
        report.check(infos["mount"].emblems == ["emblem-important"] and status_of(self.mountpoint) == "failed",
                     "the folder above followed: failed, emblem-important", "got %s" % infos["mount"].emblems)
        report.check(infos[self.TAKE1].emblems == ["emblem-synchronizing"] and status_of(self.path(self.TAKE1)) == "pending",
                     "the other files were left alone (auto_sync is off)")
        column = infos[self.BROKEN].attributes.get(self.status_attribute, "")
        report.check(column.startswith("Upload failed (") and "NoSuchBucket" in column,
                     "the Sync Status column says why a file failed", repr(column))
        self.failed_menu = self.menu([infos[self.BROKEN]])
        report.check(sorted(self.failed_menu) == ["Retry Upload", "Upload Now"], "failed file: Retry Upload and Upload Now",
                     repr(sorted(self.failed_menu)))

    def after_the_bucket(self):
        report, infos = self.report, self.infos
        code, body = self.s3.request("PUT", "/" + self.bucket)
        if not report.check(code == 200, "bucket %s created" % self.bucket, "%s %s" % (code, body[:300])):
            raise Fatal("bucket")
        started = time.monotonic()
        self.failed_menu["Retry Upload"].activate()
        took = time.monotonic() - started
        report.check(took < 0.2, "activating a menu item returns at once (%.3f s): the request is sent in the "
                     "background" % took)
        # It had been asked for (Upload Now): back in the queue it is uploaded at once.
        self.pump_until(lambda: status_of(self.path(self.BROKEN)) != "failed", 10)
        retried = status_of(self.path(self.BROKEN))
        report.check(retried in ("pending", "syncing", "synced") and
                     attribute(self.path(self.BROKEN), "user.sync.attempts") == "0",
                     "Retry Upload reached recsync: queued again (%s) with its attempts reset" % retried,
                     "%s, attempts %s" % (retried, attribute(self.path(self.BROKEN), "user.sync.attempts")))
        self.wait_status(self.BROKEN, "synced")
        self.pump_until(lambda: infos[self.BROKEN].emblems == ["emblem-default"], 15)
        report.check(infos[self.BROKEN].emblems == ["emblem-default"], "the emblem turned to emblem-default by itself",
                     "got %s" % infos[self.BROKEN].emblems)

        # Upload Now on several files at once (the synced file and the folder are left out).
        selection = [infos[self.TAKE1], infos[self.BROKEN], infos[self.TAKE2], infos["interviews"]]
        upload = self.menu(selection).get("Upload Now")
        if not report.check(upload is not None and upload.props.tip.startswith("Upload these 2"),
                            "selection of 2 pending files, a synced one and a folder: Upload Now for the 2",
                            repr(upload and upload.props.tip)):
            raise Fatal("menu")
        upload.activate()
        for name in self.CONTENTS:
            self.wait_status(name, "synced")
        for name, content in self.CONTENTS.items():
            key = attribute(self.path(name), "user.sync.s3key")
            code, body = self.s3.request("GET", "/%s/%s" % (self.bucket, key)) if key else (None, b"")
            report.check(code == 200 and body == content, "%s reached the bucket as %s" % (name, key), "HTTP %s" % code)
        watched = [self.TAKE1, self.BROKEN, self.TAKE2, "interviews", "mount"]
        self.pump_until(lambda: all(infos[n].emblems == ["emblem-default"] for n in watched), 20)
        for name in watched:
            file_info = infos[name]
            report.check(file_info.emblems == ["emblem-default"] and status_of(file_info.path) == "synced",
                         "%s: synced, and the emblem followed (emblem-default) without a reload" % name,
                         "status %s, emblems %s" % (status_of(file_info.path), file_info.emblems))
        self.pump(1.5)
        report.check(len(self.extension._watcher) == 0, "nothing is left watched once every file is final",
                     "%d watched" % len(self.extension._watcher))
        report.check(self.menu([infos[self.TAKE1], infos[self.TAKE2]]) == {}, "no menu items for synced files")

        # Every file as a fresh listing would show it, against its attribute.
        for name in [self.TAKE1, self.BROKEN, self.SCRATCH, self.TAKE2, "interviews"]:
            self.check_emblems(self.info(self.path(name)), "final " + name)
        self.check_emblems(self.info(self.mountpoint), "final mount")
        # A request recsync cannot take (the file went away after the menu was made) is
        # logged, never raised into the file manager.
        self.write("doomed.wav", b"RIFF doomed")
        self.wait_status("doomed.wav", "pending")
        item = self.menu([self.info(self.path("doomed.wav"))])["Upload Now"]
        os.remove(self.path("doomed.wav"))
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger = logging.getLogger("recsync-file-manager")
        logger.addHandler(handler)
        try:
            item.activate()
            self.pump_until(lambda: any(record.levelno >= logging.WARNING for record in records), 10)
        finally:
            logger.removeHandler(handler)
        messages = [record.getMessage() for record in records if record.levelno >= logging.WARNING]
        report.check(any("could not upload doomed.wav" in m for m in messages),
                     "a refused request is logged as a warning", repr(messages))

        # One more recording, left pending for the other file managers and the window.
        self.write("later.wav", b"RIFF later " * 10)
        self.wait_status("later.wav", "pending")

    # the extension under the Nemo and Caja bindings

    def other_file_managers(self):
        paths = [self.path(n) for n in (self.TAKE1, self.SCRATCH, "later.wav", "interviews")] + [self.outside]
        for name, version in OTHER_BINDINGS:
            child = subprocess.run([sys.executable, os.path.abspath(__file__), "--check-bindings", "%s:%s" % (name, version),
                                    "--extension", self.args.extension] + paths,
                                   capture_output=True, text=True, timeout=60)
            try:
                result = json.loads(child.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                self.report.check(False, "%s: the extension loads" % name,
                                  "exit %s\n%s%s" % (child.returncode, child.stdout[-2000:], child.stderr[-2000:]))
                continue
            self.report.check(result.get("file_manager") == name and result.get("classes") == ["RecsyncExtension"],
                              "%s: the extension picked the %s API and has one provider class" % (name, name),
                              json.dumps(result)[:500])
            interfaces = ["ColumnProvider", "InfoProvider", "MenuProvider"] + (["NameAndDescProvider"] if name == "Nemo" else [])
            self.report.check(result.get("interfaces") == sorted(interfaces), "%s: implements %s" % (name, ", ".join(interfaces)),
                              repr(result.get("interfaces")))
            if name == "Nemo":
                self.report.check(bool(result.get("name_and_desc")) and ":::" in result["name_and_desc"][0],
                                  "Nemo: the extension manager gets a name and description", repr(result.get("name_and_desc")))
            self.report.check("Sync Status" in (result.get("columns") or []), "%s: a Sync Status column" % name,
                              repr(result.get("columns")))
            for path in paths:
                got = (result.get("files") or {}).get(path, {})
                status = status_of(path)
                emblems = EXPECTED_EMBLEMS.get(status, []) if status else []
                menu = EXPECTED_MENUS.get(status, []) if status and not os.path.isdir(path) else []
                self.report.check(got.get("emblems") == emblems and got.get("menu") == menu and got.get("items") == len(menu)
                                  and bool(got.get("column")) == (status is not None),
                                  "%s: %s (%s): emblems %s, menu %s" % (name, os.path.basename(path), status, emblems, menu),
                                  json.dumps(got))
            files = result.get("files") or {}
            inside = [files.get(path, {}) for path in paths if path != self.outside]
            self.report.check(all(f.get("results") == ["in-progress"] and f.get("completions") == ["complete"] for f in inside)
                              and files.get(self.outside, {}).get("results") == ["complete"]
                              and files.get(self.outside, {}).get("completions") == [],
                              "%s: update_file_info_full answers IN_PROGRESS and completes once through %s."
                              "info_provider_update_complete_invoke for the mount's files, COMPLETE at once outside"
                              % (name, name),
                              json.dumps({path: [f.get("results"), f.get("completions")] for path, f in files.items()}))

    # following the event log

    def log_lines(self, log_path, since):
        """The events written to the log after byte `since`, as dicts (lines cut short left out)."""
        try:
            with open(log_path, "rb") as log:
                log.seek(since)
                data = log.read()
        except OSError:
            return []
        events = []
        for line in data.split(b"\n"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
        return events

    def event_log(self):
        """The root names the event log; the extension follows it (one file monitor per mount),
        so a status change reaches the file manager within a second with the fallback look-again
        put off for an hour; where the log cannot be read, the watched files are looked at every
        few seconds instead; a mount that goes away drops its monitor."""
        report, Gio = self.report, self.Gio
        log_path = attribute(self.mountpoint, "user.sync.events")
        expected = os.path.join(self.root, "state", "events.jsonl")
        listed = "user.sync.events" in os.listxattr(self.mountpoint)
        if not report.check(log_path is not None and os.path.realpath(log_path) == os.path.realpath(expected) and listed,
                            "the root folder's user.sync.events names the event log (%s), and lists it" % log_path,
                            "got %r, listed %s, expected %s" % (log_path, listed, expected)):
            return
        report.check(attribute(self.path("interviews"), "user.sync.events") is None
                     and attribute(self.path(self.TAKE1), "user.sync.events") is None,
                     "no other folder or file has user.sync.events")
        report.check(self.extension._feeds.get(self.mountpoint) is not None
                     and self.extension._feeds[self.mountpoint].state == "following"
                     and self.extension._feeds[self.mountpoint].applied > 0,
                     "the extension followed the mount's event log during the scenario above",
                     repr(self.extension._feeds))

        # A new instance, whose fallback would look again only after an hour: any refresh within
        # seconds comes from the event log.
        extension = type(self.extension)()
        extension._watcher.monitored_delays = (3600.0, 3600.0)
        os.mkdir(self.path("events"))
        self.write("events/take3.wav", b"RIFF take three " * 60)
        self.wait_status("events/take3.wav", "pending")
        self.FileInfo(self.mountpoint, [extension]).describe()
        self.pump_until(lambda: extension._feeds.get(self.mountpoint) is not None
                        and extension._feeds[self.mountpoint].active, 10)
        feed = extension._feeds.get(self.mountpoint)
        if not report.check(feed is not None and feed.active and feed.path == log_path
                            and isinstance(feed.monitor, Gio.FileMonitor) and list(extension._feeds) == [self.mountpoint],
                            "showing a file of the mount starts following its event log: one file monitor, on %s"
                            % log_path, repr(extension._feeds)):
            return
        folder = self.FileInfo(self.path("events"), [extension]).describe()
        take = self.FileInfo(self.path("events/take3.wav"), [extension]).describe()
        entry = extension._watcher._entries.get(take.gfile.get_uri())
        report.check(take.emblems == ["emblem-synchronizing"] and folder.emblems == ["emblem-synchronizing"]
                     and entry is not None and entry["due"] - time.monotonic() > 3000
                     and len(extension._feeds) == 1 and extension._feeds[self.mountpoint] is feed,
                     "a pending file and its folder, watched with the fallback put off for an hour; still one monitor",
                     "emblems %s %s, watch %r, feeds %r" % (take.emblems, folder.emblems, entry, extension._feeds))

        # The upload happens without the extension being told (the request is written here).
        since = os.path.getsize(log_path)
        lines_before, invalidations_before = feed.lines, len(take.invalidated_at)
        os.setxattr(self.path("events/take3.wav"), "user.sync.request", b"now")
        line_at = shown_at = folder_at = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (line_at and shown_at and folder_at):
            self.pump(0.01)
            now = time.monotonic()
            if line_at is None and any(e.get("path") == "events/take3.wav" and e.get("status") == "synced"
                                       for e in self.log_lines(log_path, since)):
                line_at = now
            if shown_at is None and take.emblems == ["emblem-default"]:
                shown_at = now
            if folder_at is None and folder.emblems == ["emblem-default"]:
                folder_at = now
        if not report.check(line_at is not None, "recsync wrote the synced line to the event log",
                            repr(self.log_lines(log_path, since)) + self.daemon_log()):
            return
        report.check(shown_at is not None and shown_at - line_at < 1.0,
                     "the emblem turned to emblem-default %.2f s after the event log's line (the file monitor, not the "
                     "fallback, which was an hour away)" % ((shown_at or deadline) - line_at),
                     "emblems %s, status %s" % (take.emblems, status_of(take.path)))
        report.check(folder_at is not None and folder_at - line_at < 1.0,
                     "the folder above followed, %.2f s after the line" % ((folder_at or deadline) - line_at),
                     "folder emblems %s, status %s" % (folder.emblems, status_of(folder.path)))
        report.check(feed.lines > lines_before and len(take.invalidated_at) > invalidations_before
                     and any(abs(t - line_at) < 1.0 for t in take.invalidated_at[invalidations_before:]),
                     "the extension read %d new lines of the log and invalidated the file %d times"
                     % (feed.lines - lines_before, len(take.invalidated_at) - invalidations_before),
                     "lines %d -> %d, invalidated at %s, line at %s" % (lines_before, feed.lines, take.invalidated_at, line_at))
        report.check(feed.follower.reads >= 2 and feed.follower.changes >= feed.follower.reads - 1,
                     "the changes were read in %d reads for %d file-monitor reports"
                     % (feed.follower.reads, feed.follower.changes))

        # Where the log cannot be read the attribute is missing for GIO: getxattr failing with
        # EACCES (another user of an allow_other mount) and an older recsync that has no such
        # attribute look the same. An instance asking for a name recsync does not have sees that.
        polling = type(self.extension)()
        polling.events_attribute = "xattr::sync.events-of-a-newer-recsync"
        self.write("events/take4.wav", b"RIFF take four " * 60)
        self.wait_status("events/take4.wav", "pending")
        slow = self.FileInfo(self.path("events/take4.wav"), [polling]).describe()
        self.pump_until(lambda: getattr(polling._feeds.get(self.mountpoint), "state", None) == "polling", 10)
        feed4 = polling._feeds.get(self.mountpoint)
        report.check(feed4 is not None and feed4.state == "polling" and feed4.monitor is None
                     and polling._watcher.next_due() is not None and polling._watcher.next_due() <= 1.0,
                     "without a readable user.sync.events: no monitor, the pending file is looked at again within 1 s",
                     "feed %r, next due %r" % (feed4, polling._watcher.next_due()))
        os.setxattr(self.path("events/take4.wav"), "user.sync.request", b"now")
        started = time.monotonic()
        self.pump_until(lambda: slow.emblems == ["emblem-default"], 30)
        report.check(slow.emblems == ["emblem-default"],
                     "without it, polling still turned the emblem to emblem-default (%.1f s)" % (time.monotonic() - started),
                     "emblems %s, status %s" % (slow.emblems, status_of(slow.path)))

        # A second mount: its own monitor, dropped when it is unmounted.
        second = os.path.join(self.root, "Second")
        os.mkdir(second)
        daemon = self.start_daemon(second, "state-second", "recsync-second.log")
        self.other_mounts.append(second)
        with open(os.path.join(second, "b.wav"), "wb") as file:
            file.write(b"RIFF second")
        other = self.FileInfo(os.path.join(second, "b.wav"), [extension]).describe()
        self.pump_until(lambda: extension._feeds.get(second) is not None and extension._feeds[second].active, 10)
        feed2 = extension._feeds.get(second)
        report.check(sorted(extension._feeds) == sorted([self.mountpoint, second]) and feed2 is not None and feed2.active
                     and feed2.path == attribute(second, "user.sync.events") and feed2.monitor is not feed.monitor,
                     "a second mount gets a monitor of its own, on its own log",
                     "feeds %r, emblems %s" % (extension._feeds, other.emblems))
        unmount = subprocess.run(["fusermount3", "-u", second], capture_output=True, text=True)
        try:
            daemon.wait(15)
        except subprocess.TimeoutExpired:
            pass
        self.pump_until(lambda: second not in extension._feeds, 5)
        report.check(unmount.returncode == 0 and second not in extension._feeds and feed2 is not None
                     and feed2.monitor.is_cancelled() and feed2.follower.closed
                     and extension._feeds.get(self.mountpoint) is feed and feed.active,
                     "unmounted, its monitor is cancelled and dropped; the first mount's stays",
                     "unmount %s %s, feeds %r" % (unmount.returncode, unmount.stderr, extension._feeds))

    def event_log_names(self):
        """A file whose name is not UTF-8 is refreshed from the event log too: recsync writes the
        name in its text form (each byte that is not UTF-8 as U+10FF00 + byte), and the extension
        maps it back to the path the file manager gives."""
        report = self.report
        extension = type(self.extension)()
        extension._watcher.monitored_delays = (3600.0, 3600.0)  # any refresh within seconds is the log's
        raw = b"events/caf\xe9 \xff.wav"
        name = os.fsdecode(raw)
        self.write(name, b"RIFF latin-1 " * 60)
        if not self.wait_status(name, "pending"):
            return
        self.FileInfo(self.mountpoint, [extension]).describe()
        self.pump_until(lambda: getattr(extension._feeds.get(self.mountpoint), "active", False), 10)
        feed = extension._feeds.get(self.mountpoint)
        take = self.FileInfo(self.path(name), [extension]).describe()
        if not report.check(feed is not None and feed.active and take.emblems == ["emblem-synchronizing"],
                            "a file named %r (not UTF-8): pending, its mount's event log followed" % raw,
                            "feed %r, emblems %s" % (feed, take.emblems)):
            return
        # The request ends the file's wait one way or the other: synced, or failed (moto refuses
        # SigV4 requests for keys that hold a "%", as this name's key does: caf%E9 %FF.wav).
        # Either way recsync writes a line, and only that line can refresh the emblem in time.
        since = os.path.getsize(feed.path)
        os.setxattr(self.path(name), "user.sync.request", b"now")
        text = "events/caf\U0010FFE9 \U0010FFFF.wav"  # recsync's text form (docs/SEMANTICS.md, "Names")
        final = line_at = shown_at = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (line_at and shown_at):
            self.pump(0.01)
            now = time.monotonic()
            if line_at is None:
                final = next((e["status"] for e in self.log_lines(feed.path, since)
                              if e.get("path") == text and e.get("status") in ("synced", "failed")), None)
                line_at = now if final else None
            if final and shown_at is None and take.emblems == EXPECTED_EMBLEMS[final]:
                shown_at = now
        if not report.check(line_at is not None, "recsync wrote a line that the file is %s, with the name in its "
                            "text form" % (final or "synced or failed"),
                            repr(self.log_lines(feed.path, since)) + self.daemon_log()):
            return
        report.check(shown_at is not None and shown_at - line_at < 1.0,
                     "the file named %r turned to %s %.2f s after the line (from the event log; the fallback was an "
                     "hour away)" % (raw, EXPECTED_EMBLEMS[final], (shown_at or deadline) - line_at),
                     "emblems %s, status %s" % (take.emblems, status_of(take.path)))

    def answer_events_with(self, extension, answer, _location, _result, job):
        """In place of the extension's completion for user.sync.events: the mount answered `answer`
        (what a hostile mount could answer; a real recsync names its own log)."""
        extension._queue.finished(job, answer)

    def event_log_owners(self):
        """Only the viewer's own mounts, and only a regular file of the viewer's: a mount another user
        owns is not asked for its log; a path that is a FIFO, a device, a symbolic link or another
        user's file is never opened; either way the files are looked at every few seconds."""
        report = self.report
        owner = self.extension._mounts.owner(self.mountpoint)
        report.check(owner == os.getuid(), "the mount's owner, from user_id= in /proc/self/mountinfo, is this user "
                     "(uid %s)" % owner)
        name = "events/take5.wav"
        self.write(name, b"RIFF take five " * 60)
        if not self.wait_status(name, "pending"):
            return

        # As another user sees it (its file manager runs as someone else).
        stranger = type(self.extension)()
        stranger._viewer = os.getuid() + 1
        keys = []
        submit = stranger._queue.submit
        stranger._queue.submit = lambda mount, key, callback: keys.append(key) or submit(mount, key, callback)
        shown = self.FileInfo(self.path(name), [stranger]).describe()
        feed = stranger._feeds.get(self.mountpoint)
        report.check(feed is not None and feed.state == "polling" and feed.monitor is None
                     and not any(key[0] == "events" for key in keys) and shown.emblems == ["emblem-synchronizing"]
                     and stranger._watcher.next_due() is not None and stranger._watcher.next_due() <= 1.0,
                     "a mount of another user's: its root is not asked for user.sync.events, no monitor, the pending "
                     "file is looked at again within 1 s", "feed %r, asked %r, emblems %s" % (feed, keys, shown.emblems))

        # What a hostile mount could answer.
        fifo = os.path.join(self.root, "events.fifo")
        os.mkfifo(fifo)
        link = os.path.join(self.root, "events.link")
        os.symlink(attribute(self.mountpoint, "user.sync.events"), link)
        answers = [fifo, link, "/dev/zero", self.root]
        if os.getuid() == 0:
            foreign = os.path.join(self.root, "foreign.jsonl")
            with open(foreign, "w") as text:
                text.write('{"path": "take1.wav", "status": "failed"}\n')
            os.chown(foreign, 65534, 65534)
            answers.append(foreign)
        else:
            print("note: not root, so no file of another user's to name; that case is in test_logic.py", flush=True)
        instances = {}
        for answer in answers:
            extension = instances[answer] = type(self.extension)()
            extension._events_done = functools.partial(self.answer_events_with, extension, answer)
            shown = self.FileInfo(self.path(name), [extension]).describe()
            self.pump_until(lambda: getattr(extension._feeds.get(self.mountpoint), "state", None)
                            not in (None, "asking", "checking"), 10)
            feed = extension._feeds.get(self.mountpoint)
            report.check(feed is not None and feed.state == "polling" and feed.monitor is None and feed.follower is None
                         and extension._watcher.next_due() is not None and extension._watcher.next_due() <= 1.0,
                         "user.sync.events answered %s: not followed, the pending file is looked at again within 1 s"
                         % answer, "feed %r" % feed)
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            opened = "the FIFO has a reader"
        except OSError as error:
            opened = None if error.errno == errno.ENXIO else str(error)
        report.check(opened is None, "the FIFO was never opened (no reader: a writer's non-blocking open fails "
                     "with ENXIO)", opened or "")
        fifo_user = instances[fifo]
        slow = self.FileInfo(self.path(name), [fifo_user]).describe()
        os.setxattr(self.path(name), "user.sync.request", b"now")
        started = time.monotonic()
        self.pump_until(lambda: slow.emblems == ["emblem-default"], 30)
        report.check(slow.emblems == ["emblem-default"],
                     "the one given a FIFO turned the emblem to emblem-default by looking again (%.1f s)"
                     % (time.monotonic() - started), "emblems %s, status %s" % (slow.emblems, status_of(slow.path)))

    # a completion that fails

    def completion_errors(self):
        """A bug in a GIO completion (here: the first reads' answers cannot be read) is logged, the
        queue still hears that each job finished, and the mount's lane keeps working."""
        report = self.report
        extension = type(self.extension)()
        names = [self.TAKE1, self.TAKE2, "later.wav"]
        failures = []

        class Failing:
            """The file a read was made on, whose answer cannot be taken: a bug in the completion."""
            def query_info_finish(self, _result):
                failures.append(self)
                raise RuntimeError("injected failure %d" % len(failures))

        real_done = extension._read_done

        def read_done(location, result, job):  # the extension's own completion, given a file that fails
            return real_done(Failing() if len(failures) < len(names) else location, result, job)

        extension._read_done = read_done  # _start passes self._read_done to GIO: this instance only
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger("recsync-file-manager").addHandler(handler)
        try:
            first = [self.FileInfo(self.path(name), [extension]) for name in names]
            for file_info in first:  # all at once: two run, one waits for a place
                file_info.start_describe()
            self.pump_until(lambda: not any(i.describing for i in first), 4)
        finally:
            logging.getLogger("recsync-file-manager").removeHandler(handler)
        queue = extension._queue
        logged = [r for r in records if r.exc_info and "injected failure" in str(r.exc_info[1])]
        if not report.check(all(not i.describing and i.emblems == [] for i in first) and len(logged) == len(names),
                            "%d read completions failed with an exception: each logged, each update completed "
                            "without an emblem" % len(names),
                            "describing %s, emblems %s, logged %d" % ([i.describing for i in first],
                                                                     [i.emblems for i in first], len(logged))):
            return
        report.check(len(queue) == 0 and not queue.stalled(self.mountpoint),
                     "the queue heard that each of them finished: nothing running, the mount not stalled",
                     "running %d, queued %d, counts %s" % (queue.running(self.mountpoint), queue.queued(self.mountpoint),
                                                           dict(queue.counts)))
        again = [self.FileInfo(self.path(name), [extension]).describe() for name in names]
        expected = [EXPECTED_EMBLEMS.get(status_of(self.path(name)), None) for name in names]
        report.check([i.emblems for i in again] == expected and all(e for e in expected),
                     "the same files asked again get their emblems: the lane keeps working",
                     "emblems %s, expected %s" % ([i.emblems for i in again], expected))

    # a mount that stops answering

    def resume_daemon(self):
        if self.daemon_stopped and self.daemon is not None and self.daemon.poll() is None:
            os.kill(self.daemon.pid, signal.SIGCONT)
        self.daemon_stopped = False

    def hung_mount(self):
        """Stops the recsync daemon this test started (SIGSTOP to its pid: its mount answers
        nothing, as a deadlocked daemon's would) and checks that the extension keeps the main loop
        running, answers the file manager anyway, gives up on what the mount does not answer,
        holds only a few requests for it, and shows the files once the daemon goes on."""
        report = self.report
        extension = type(self.extension)()  # a second instance: nothing watched, nothing read yet
        queue = extension._queue
        for each in (queue, self.extension._queue):
            each.give_up, each.check_every = 2.0, 0.25  # the default is GIVE_UP_AFTER (5 s)
        names = [self.TAKE1, self.TAKE2, "later.wav", "interviews"]
        infos = {name: self.FileInfo(self.path(name), [extension]) for name in names}  # file types learnt now
        ghosts = [self.FileInfo(self.path("ghost-%03d.wav" % i), [extension], file_type=self.Gio.FileType.REGULAR)
                  for i in range(200)]
        upload = self.menu([self.info(self.path("later.wav"))]).get("Upload Now")
        if not report.check(upload is not None, "later.wav (pending) offers Upload Now"):
            return
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger("recsync-file-manager").addHandler(handler)
        threads_before = len(os.listdir("/proc/self/task"))
        beats = []
        timer = self.GLib.timeout_add(50, lambda: beats.append(time.monotonic()) or True)
        self.FileInfo.hung = True
        os.kill(self.daemon.pid, signal.SIGSTOP)
        self.daemon_stopped = True
        stopped = time.monotonic()
        try:
            print("note: recsync (pid %d) stopped with SIGSTOP" % self.daemon.pid, flush=True)
            started = time.monotonic()
            answered = [infos[name].start_describe() for name in names]
            took = time.monotonic() - started
            report.check(not any(answered) and took < 0.5 and all(i.results == [i.in_progress] for i in infos.values()),
                         "hung mount: update_file_info_full returns at once (%.3f s for %d files), IN_PROGRESS"
                         % (took, len(names)), "answered %s, results %s" % (answered, [i.results for i in infos.values()]))
            started = time.monotonic()
            upload.activate()
            took = time.monotonic() - started
            report.check(took < 0.2, "hung mount: Upload Now returns at once (%.3f s)" % took)
            self.pump_until(lambda: not any(i.describing for i in infos.values()), 8)
            waited = time.monotonic() - stopped
            report.check(all(not i.describing and i.emblems == [] and i.attributes == {} and len(i.completions) == 1
                             and int(i.completions[0][2]) == int(i.complete) for i in infos.values()),
                         "hung mount: after %.1f s the extension gave up and completed each update without an emblem"
                         % waited, repr([(i.path, i.describing, i.emblems, i.completions) for i in infos.values()]))
            gaps = [b - a for a, b in zip([stopped] + beats, beats + [time.monotonic()])]
            report.check(len(beats) >= waited / 0.05 * 0.5 and max(gaps) < 0.5,
                         "hung mount: the main loop kept running (%d ticks of a 50 ms timer in %.1f s, longest gap "
                         "%.3f s)" % (len(beats), waited, max(gaps)))

            started = time.monotonic()
            answered = [ghost.start_describe() for ghost in ghosts]
            took = time.monotonic() - started
            report.check(all(answered) and all(g.results == [g.complete] for g in ghosts) and took < 0.5,
                         "hung mount: %d more files are answered at once (COMPLETE, %.3f s), nothing queued for them"
                         % (len(ghosts), took))
            report.check(queue.counts["started"] == 2 and queue.running(self.mountpoint) == 2
                         and queue.queued(self.mountpoint) == 0 and queue.stalled(self.mountpoint),
                         "hung mount: 2 requests wait for it (the rest were given up or refused), none queued",
                         "counts %s, running %d, queued %d" % (dict(queue.counts), queue.running(self.mountpoint),
                                                               queue.queued(self.mountpoint)))
            threads = len(os.listdir("/proc/self/task"))
            report.check(threads - threads_before <= 4,
                         "hung mount: the process has %d threads, %d before (each request that waits holds one "
                         "of GIO's)" % (threads, threads_before))
            self.pump_until(lambda: any(r.levelno >= logging.WARNING and "later.wav" in r.getMessage() for r in records), 8)
            messages = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
            report.check(any("could not upload later.wav: the mount did not answer" in m for m in messages),
                         "hung mount: the request is reported as not answered", repr(messages))
        finally:
            self.GLib.source_remove(timer)
            self.resume_daemon()
            self.FileInfo.hung = False
            logging.getLogger("recsync-file-manager").removeHandler(handler)
        print("note: recsync (pid %d) continued with SIGCONT" % self.daemon.pid, flush=True)

        def shown():
            return all(infos[name].emblems == EXPECTED_EMBLEMS.get(status_of(self.path(name)), []) and
                       infos[name].emblems and not infos[name].describing for name in names)
        self.pump_until(shown, 20)
        report.check(shown() and all(i.invalidations >= 1 for i in infos.values()),
                     "once the daemon goes on, the files given up on get their emblems (the extension asked the "
                     "file manager to refresh them)",
                     repr([(i.path, status_of(i.path), i.emblems, i.invalidations) for i in infos.values()]))
        again = self.FileInfo(self.path(self.TAKE1), [extension]).describe()
        report.check(not queue.stalled(self.mountpoint) and again.results == [again.in_progress]
                     and again.emblems == ["emblem-default"],
                     "the mount takes requests again", repr((again.results, again.emblems, dict(queue.counts))))
        if self.nautilus is not None and self.nautilus.poll() is None:
            report.check("Traceback" not in self.nautilus_text(), "Nautilus, open on the mount meanwhile, kept "
                         "running with no Python error in its log", self.nautilus_text()[-2000:])

    # Nautilus itself, under Xvfb

    def start_nautilus(self):
        """Starts Nautilus on the mount; returns whether it runs (else a note says why not)."""
        if os.environ.get("RECSYNC_TEST_SCREENSHOT") == "0":
            print("note: Nautilus window skipped (RECSYNC_TEST_SCREENSHOT=0)", flush=True)
            return False
        tools = {name: shutil.which(name) for name in ("nautilus", "Xvfb", "dbus-daemon")}
        missing = [name for name, found in tools.items() if not found]
        if missing:
            print("note: Nautilus window and screenshots skipped: %s not installed" % ", ".join(missing), flush=True)
            return False
        self.artifacts = os.environ.get("RECSYNC_TEST_ARTIFACTS") or tempfile.mkdtemp(prefix="recsync-fm-artifacts-")
        os.makedirs(self.artifacts, exist_ok=True)
        home = os.path.join(self.root, "home")
        extensions = os.path.join(home, ".local", "share", "nautilus-python", "extensions")
        os.makedirs(extensions)
        shutil.copy(self.args.extension, extensions)
        for folder in ("config", "cache", "runtime"):
            os.makedirs(os.path.join(home, "." + folder), mode=0o700)
        # The list view with the extension's columns (settings from a key file, not dconf).
        settings = os.path.join(home, ".config", "glib-2.0", "settings")
        os.makedirs(settings)
        with open(os.path.join(settings, "keyfile"), "w") as text:
            text.write(NAUTILUS_SETTINGS)
        env = dict(os.environ, HOME=home, XDG_DATA_HOME=os.path.join(home, ".local", "share"),
                   XDG_CONFIG_HOME=os.path.join(home, ".config"), XDG_CACHE_HOME=os.path.join(home, ".cache"),
                   XDG_RUNTIME_DIR=os.path.join(home, ".runtime"), RECSYNC_FILE_MANAGER_DEBUG="1",
                   GTK_A11Y="none", NO_AT_BRIDGE="1", GSETTINGS_BACKEND="keyfile", GDK_BACKEND="x11",
                   LIBGL_ALWAYS_SOFTWARE="1", GSK_RENDERER="cairo", GIO_USE_VFS="local",
                   GIO_USE_VOLUME_MONITOR="unix")
        env.pop("WAYLAND_DISPLAY", None)
        read, write = os.pipe()
        xvfb = self.start("Xvfb", [tools["Xvfb"], "-displayfd", str(write), "-screen", "0", "1100x600x24", "-nolisten", "tcp"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write,))
        os.close(write)
        number = b""
        deadline = time.monotonic() + 15
        os.set_blocking(read, False)
        while not number.endswith(b"\n") and time.monotonic() < deadline and xvfb.poll() is None:
            try:
                number += os.read(read, 16) or b""
            except BlockingIOError:
                time.sleep(0.05)
        os.close(read)
        if not number.strip().isdigit():
            print("note: Nautilus window skipped: Xvfb did not start", flush=True)
            return False
        env["DISPLAY"] = ":" + number.decode().strip()
        # A session bus that starts no services (no gvfs, no tracker): every process of the
        # window is one this test started.
        bus_config = os.path.join(home, "bus.conf")
        with open(bus_config, "w") as text:
            text.write(BUS_CONFIG % os.path.join(home, ".runtime"))
        bus = self.start("dbus-daemon", [tools["dbus-daemon"], "--config-file", bus_config, "--nofork", "--print-address=1"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
        self.display_env = env
        self.nautilus_log = os.path.join(self.artifacts, "nautilus.log")
        with open(self.nautilus_log, "wb") as log:
            self.nautilus = self.start("nautilus", [tools["nautilus"], "--new-window", self.mountpoint],
                                       stdout=log, stderr=log, env=env)
        return True

    def nautilus_text(self):
        with open(self.nautilus_log, errors="replace") as log:
            return log.read()

    def nautilus_shows(self, expected, since=0, timeout=45):
        """Waits until Nautilus' log says it described each (name, status) as expected."""
        lines = ["%s: %s, emblems %s" % (self.path(name), status, EXPECTED_EMBLEMS[status]) for name, status in expected]
        self.pump_until(lambda: all(line in self.nautilus_text()[since:] for line in lines) or self.nautilus.poll() is not None,
                        timeout)
        text = self.nautilus_text()
        if self.nautilus.poll() is not None:
            return None, text
        return [line for line in lines if line not in text[since:]], text

    def screenshot(self, name):
        png = os.path.join(self.artifacts, name)
        try:
            shot = subprocess.run([sys.executable, "-c", SCREENSHOT, png], env=self.display_env,
                                  capture_output=True, timeout=30)
            why = shot.stderr.decode(errors="replace")[-500:]
        except subprocess.TimeoutExpired:
            shot, why = None, "no picture after 30 s"
        if shot is not None and shot.returncode == 0 and os.path.exists(png) and os.path.getsize(png) > 0:
            self.report.check(True, "screenshot saved: %s" % png)
        else:
            print("note: screenshot skipped: %s" % why, flush=True)

    def nautilus_before(self):
        missing, text = self.nautilus_shows([(self.TAKE1, "pending"), (self.BROKEN, "failed"), (self.SCRATCH, "local"),
                                             ("interviews", "pending")])
        if missing is None:
            print("note: Nautilus window skipped: nautilus exited (%s); its log:\n%s"
                  % (self.nautilus.returncode, text[-2000:]), flush=True)
            self.nautilus = None
            return
        self.report.check(not missing, "Nautilus loaded the extension and showed pending, failed and local files",
                          "not in its log: %s\n%s" % (missing, text[-2000:]))
        self.nautilus_mark = len(text)
        self.pump(2)  # let the window draw
        self.screenshot("nautilus-1-before.png")

    def nautilus_after(self):
        missing, text = self.nautilus_shows([(self.TAKE1, "synced"), (self.BROKEN, "synced"), ("interviews", "synced"),
                                             ("later.wav", "pending")], since=self.nautilus_mark, timeout=60)
        if missing is None:
            self.report.check(False, "Nautilus kept running", "it exited (%s):\n%s" % (self.nautilus.returncode, text[-2000:]))
            return
        self.report.check(not missing, "Nautilus followed the files to synced without a reload",
                          "not in its log: %s\n%s" % (missing, text[self.nautilus_mark:][-2000:]))
        self.report.check("Traceback" not in text, "no Python error in Nautilus' log", text[-2000:])
        self.pump(2)
        self.screenshot("nautilus-2-after.png")


NAUTILUS_SETTINGS = """[org/gnome/nautilus/preferences]
default-folder-viewer='list-view'

[org/gnome/nautilus/list-view]
default-visible-columns=['name', 'size', 'RecsyncExtension::sync_status']
default-column-order=['name', 'size', 'RecsyncExtension::sync_status', 'type', 'date_modified']
"""

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=%s</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# Takes a screenshot of the X display with GDK 3 (gir1.2-gtk-3.0), in a process of its own.
SCREENSHOT = """
import sys, gi
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk
window = Gdk.get_default_root_window()
pixbuf = Gdk.pixbuf_get_from_window(window, 0, 0, window.get_width(), window.get_height())
pixbuf.savev(sys.argv[1], "png", [], [])
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recsync", help="the recsync binary (default: RECSYNC_BIN)")
    parser.add_argument("--extension", default=DEFAULT_EXTENSION, help="the extension file (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--check-bindings", metavar="NAME:VERSION", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check_bindings:
        name, version = args.check_bindings.split(":")
        check_bindings(name, version, args.extension, args.paths)
        return 0

    report = Report()
    run = Run(args, report)

    def terminated(signum, _frame):
        raise SystemExit("stopped by signal %d" % signum)

    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGHUP, terminated)
    try:
        run.preconditions()
        run.mount()
        run.before_the_bucket()
        if run.start_nautilus():
            run.nautilus_before()
        run.after_the_bucket()
        run.other_file_managers()
        if run.nautilus is not None:
            run.nautilus_after()
        run.event_log()
        run.event_log_names()
        run.event_log_owners()
        run.completion_errors()
        run.hung_mount()
    except Fatal:
        pass
    except BaseException as error:  # a bug in the test, an interrupt: a failure, cleaned up all the same
        traceback.print_exc()
        report.failed.append("unexpected %s" % type(error).__name__)
    finally:
        run.cleanup()
    if report.failed:
        print("failed checks:\n  " + "\n  ".join(report.failed), flush=True)
    print("file-manager: %d passed, %d failed" % (report.passed, len(report.failed)), flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
