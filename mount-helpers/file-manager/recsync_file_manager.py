"""recsync file-manager extension: sync status emblems and upload actions.

For GNOME Files (Nautilus 43 and later through python3-nautilus, older versions through the
3.0 API), Nemo (nemo-python) and Caja (python3-caja). Install this one file into the
extension folder of each (`make install` does; see docs/FILE-MANAGER.md):

    PREFIX/share/nautilus-python/extensions/
    PREFIX/share/nemo-python/extensions/
    PREFIX/share/caja-python/extensions/

What it does, for each file and folder inside a recsync mount:

- an emblem for its `user.sync.status` (STATUS_EMBLEMS below) and a "Sync Status" column for
  the list view (with the reason a file waits or failed);
- it asks the file manager to redraw a file as soon as its status changes: it follows the
  mount's event log (the file the root folder's `user.sync.events` names, watched with inotify
  through GIO), and looks again at the files whose status may still change (pending, syncing;
  failed, less often) only now and then as a fallback; every few seconds where the log cannot be
  read (an older recsync) or is not followed (a mount of another user's, or a path that is not
  a regular file of the user's: see may_follow_events and event_log_problem);
- "Upload Now" (writes `user.sync.request=now`) and "Retry Upload" (writes `retry`) in the
  context menu of the files that can use them.

Which files are in a recsync mount is read from /proc/self/mountinfo (MountTable): a file on
any other filesystem (a local disk, NFS, CIFS, sshfs, ...) is never touched, not even with a
stat(2). The attributes of the files that are in one are read and written in the background
(GIO's worker threads do the system calls; the file manager's main thread never waits for a
mount), a few at a time per mount (RequestQueue): a mount that stops answering holds at most
that many threads, and the files it does not answer about within GIVE_UP_AFTER seconds get no
emblem until it answers again.

The decisions (status to emblem and label, selection to menu actions, what to look at again
when, which mount a path is on, what to ask a mount and when to stop waiting for it, which part
of the event log to read and what its lines say) are plain functions and classes that need no
GObject introspection; the file-manager glue at the bottom is only defined when the bindings
are there. Set RECSYNC_FILE_MANAGER_DEBUG=1 in the file manager's
environment to log what the extension does.
"""

import codecs
import collections
import functools
import json
import logging
import os
import re
import select
import stat
import sys
import time

__all__ = [
    "ATTR_STATUS", "ATTR_ERROR", "ATTR_REQUEST", "STATUSES", "STATUS_EMBLEMS", "STATUS_LABELS",
    "CHANGING_STATUSES", "WATCH_DELAYS", "UPLOAD_NOW", "RETRY", "RECSYNC_FSTYPE", "GIVE_UP_AFTER",
    "MenuAction", "SelectedFile", "Mount", "Attributes", "NO_ANSWER",
    "read_status", "read_attribute", "emblems_for", "status_label", "short_error", "status_text",
    "may_change", "menu_actions", "describe_failures", "unescape_mount_field", "parse_mountinfo",
    "mount_owner", "visible_mounts", "gio_unescape", "MountTable", "RequestQueue", "StatusWatcher",
    "ATTR_EVENTS", "EVENT_LINE_LIMIT", "EVENT_READ_LIMIT", "EVENT_DEBOUNCE", "MONITORED_WATCH_DELAYS",
    "ReadPlan", "parse_event_line", "name_bytes", "event_path", "event_changes", "may_follow_events",
    "event_log_problem", "LogTail", "LogFollower",
]

log = logging.getLogger("recsync-file-manager")
if os.environ.get("RECSYNC_FILE_MANAGER_DEBUG"):
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("recsync-file-manager: %(levelname)s: %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.DEBUG)

# --- What recsync exposes (docs/SEMANTICS.md, "Extended attributes") -------------------------

ATTR_STATUS = "user.sync.status"
ATTR_ERROR = "user.sync.error"
ATTR_REQUEST = "user.sync.request"
#: On a mount's root folder only, for the mount's owner and root: the path of its event log.
ATTR_EVENTS = "user.sync.events"

STATUSES = ("local", "pending", "syncing", "synced", "failed")

#: Stock emblem names, all in the Adwaita icon theme (and most others).
STATUS_EMBLEMS = {
    "local": None,                      # not queued: being written, or a name recsync ignores
    "pending": "emblem-synchronizing",  # queued, waiting for its turn (or for the network)
    "syncing": "emblem-synchronizing",  # uploading now
    "synced": "emblem-default",         # the server confirmed the upload
    "failed": "emblem-important",       # gave up; "Retry Upload" sends it back to the queue
}

STATUS_LABELS = {
    "local": "Not uploaded",
    "pending": "Waiting to upload",
    "syncing": "Uploading",
    "synced": "Synced",
    "failed": "Upload failed",
}

#: Statuses that change without anyone touching the file.
CHANGING_STATUSES = frozenset({"pending", "syncing"})

#: How soon a file is looked at again, by status: (first delay, longest delay) in seconds; the
#: delay grows by half each time nothing changed. `pending` and `syncing` change by themselves;
#: `failed` changes only when someone retries (perhaps with `recsync retry`, or from another
#: window), so it is looked at less often. `synced` and `local` change when the file does, which
#: the file manager notices itself; they are not watched.
WATCH_DELAYS = {"pending": (1.0, 10.0), "syncing": (1.0, 10.0), "failed": (5.0, 30.0)}

#: For a file a request was just sent for, whatever its status: until it changes, or at most
#: FORCED_WATCH_TIMEOUT seconds.
FORCED_WATCH_DELAYS = (1.0, 10.0)
FORCED_WATCH_TIMEOUT = 60.0

#: The same, for any status, on a mount whose event log the extension follows: the log says when
#: a status changes, so looking again is only a fallback (for lines lost to a rotation, say).
MONITORED_WATCH_DELAYS = (30.0, 60.0)

#: The event log: a line longer than EVENT_LINE_LIMIT bytes is skipped; at most EVENT_READ_LIMIT
#: bytes are read after a change (when more was appended, they are skipped and the watched files
#: are looked at again instead); a read starts EVENT_DEBOUNCE seconds after the change that
#: asks for it, so a burst of changes is read at once.
EVENT_LINE_LIMIT = 64 * 1024
EVENT_READ_LIMIT = 1024 * 1024
EVENT_DEBOUNCE = 0.15

#: A mount that did not answer about its event log is asked again after this many seconds.
EVENT_ASK_AGAIN = 30.0

UPLOAD_NOW = "now"
RETRY = "retry"

#: The filesystem type of a recsync mount in /proc/self/mountinfo (FUSE, subtype recsync).
RECSYNC_FSTYPE = "fuse.recsync"

#: How long a mount may take to answer about a file (or to take a request) before the extension
#: stops waiting: the file gets no emblem (a request is reported as not taken), and the mount
#: gets no new work until it answers again.
GIVE_UP_AFTER = 5.0

#: How many reads and writes run at once per mount (each holds one of GIO's worker threads while
#: it waits for recsync), and how many more may wait their turn.
PER_MOUNT = 2
QUEUE_LIMIT = 1024

#: The mount table is read again at once when the kernel says it changed (poll(2) on
#: /proc/self/mountinfo); only where that cannot be watched, this often (seconds) instead.
MOUNT_TABLE_MAX_AGE = 2.0


def read_attribute(path, name):
    """The attribute's value as text, or None when the file has none (or cannot be read).
    Symbolic links are not followed: recsync gives them no attributes of their own."""
    try:
        value = os.getxattr(path, name, follow_symlinks=False)
    except (OSError, ValueError):
        return None
    return value.decode("utf-8", "replace").strip()


def read_status(path):
    """`user.sync.status` of a file or folder in a recsync mount; None anywhere else."""
    status = read_attribute(path, ATTR_STATUS)
    return status or None


def emblems_for(status):
    """The emblem names for a status; none for an unknown one or for `local`."""
    emblem = STATUS_EMBLEMS.get(status)
    return [emblem] if emblem else []


def status_label(status):
    """Text for the "Sync Status" column; an unknown status is shown as it is."""
    if status is None:
        return ""
    return STATUS_LABELS.get(status, status)


def short_error(error, limit=48):
    """`user.sync.error` made short for a column: one line, the reason without the request it
    came from ("PutObject bucket/key failed: HTTP 404 ..." gives "HTTP 404 ..."), at most
    `limit` characters. `recsync status FILE` and `getfattr -n user.sync.error` give all of it."""
    text = " ".join((error or "").split())
    _, failed, reason = text.partition(" failed: ")
    if failed and reason:
        text = reason
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def status_text(status, error=""):
    """The "Sync Status" column: the status in words, and why a file waits or failed."""
    label = status_label(status)
    reason = short_error(error)
    return "%s (%s)" % (label, reason) if label and reason else label


def may_change(status):
    """Whether recsync may change this status by itself (so it is worth looking at again)."""
    return status in CHANGING_STATUSES


# --- The context menu -------------------------------------------------------------------------

SelectedFile = collections.namedtuple("SelectedFile", "path status is_directory")
MenuAction = collections.namedtuple("MenuAction", "name label tip request paths")


def _count(paths, one, many):
    return one if len(paths) == 1 else many % len(paths)


def menu_actions(selection):
    """The menu actions for a selection of SelectedFile (status None: not in a recsync mount).

    "Upload Now" acts on the selected files that are local, pending or failed; "Retry Upload"
    on the failed ones. Folders, files outside recsync mounts and files already syncing or
    synced get neither. Each action lists the paths it will write its request to."""
    files = [item for item in selection if not item.is_directory and item.status is not None]
    upload = [item.path for item in files if item.status in ("local", "pending", "failed")]
    retry = [item.path for item in files if item.status == "failed"]
    actions = []
    if upload:
        actions.append(MenuAction(
            name="RecsyncExtension::upload_now", label="Upload Now",
            tip=_count(upload, "Upload this file to S3 before any other",
                       "Upload these %d files to S3 before any other"),
            request=UPLOAD_NOW, paths=upload))
    if retry:
        actions.append(MenuAction(
            name="RecsyncExtension::retry_upload", label="Retry Upload",
            tip=_count(retry, "Send this failed file back to the upload queue",
                       "Send these %d failed files back to the upload queue"),
            request=RETRY, paths=retry))
    return actions


def describe_failures(request, failures):
    """One line a person can read for the requests that failed, [(path, reason)] (the reason is
    text, or an OSError); "" for none."""
    if not failures:
        return ""
    what = "upload" if request == UPLOAD_NOW else "retry"
    parts = []
    for path, error in failures[:3]:
        reason = error if isinstance(error, str) else (getattr(error, "strerror", None) or str(error))
        parts.append("%s: %s" % (os.path.basename(path) or path, reason))
    more = len(failures) - len(parts)
    if more > 0:
        parts.append("and %d more" % more)
    return "recsync could not %s %s" % (what, "; ".join(parts))


# --- Which files are in a recsync mount ----------------------------------------------------------

#: One line of /proc/self/mountinfo: mount id, parent id, mount point, filesystem type, and the
#: user the mount belongs to (its `user_id=` super option, which FUSE sets to the user who
#: mounted it; None for a mount without one).
Mount = collections.namedtuple("Mount", "id parent point fstype owner", defaults=(None,))

_MOUNT_ESCAPE = re.compile(rb"\\([0-7]{3})")
_OWNER_OPTION = re.compile(r"(?:^|,)user_id=([0-9]+)(?:,|$)")
#: Whether paths are UTF-8 with undecodable bytes as lone surrogates (Python's way on Linux).
_FS_UTF8 = (codecs.lookup(sys.getfilesystemencoding()).name == "utf-8"
            and sys.getfilesystemencodeerrors() == "surrogateescape")


def unescape_mount_field(field):
    """A path or type as /proc/self/mountinfo writes it (space, tab, newline and backslash as
    `\\040`, `\\011`, `\\012`, `\\134`), as the str a path has in Python."""
    if isinstance(field, str):
        field = os.fsencode(field)
    if b"\\" not in field:
        return os.fsdecode(field)
    return os.fsdecode(_MOUNT_ESCAPE.sub(lambda match: bytes([int(match.group(1), 8)]), field))


def mount_owner(super_options):
    """The uid in a mount's super options (`rw,user_id=1000,group_id=1000`), else None."""
    if isinstance(super_options, bytes):
        super_options = super_options.decode("ascii", "replace")
    found = _OWNER_OPTION.search(super_options or "")
    return int(found.group(1)) if found else None


def parse_mountinfo(data):
    """The mounts of /proc/self/mountinfo's text (bytes or str), in its order, as Mount (mount
    id, parent id, mount point, filesystem type, owner). Lines it cannot read are left out."""
    if isinstance(data, str):
        data = os.fsencode(data)
    if _FS_UTF8:
        # Decoding the whole text at once gives what decoding each field would: fields end at
        # spaces and newlines, which are never part of a longer UTF-8 sequence.
        text, encoding = data.decode("utf-8", "surrogateescape"), ("utf-8", "surrogateescape")
    else:
        text, encoding = data.decode("latin-1"), ("latin-1",)

    def path_of(field):
        if _FS_UTF8 and "\\" not in field:
            return field
        return unescape_mount_field(field.encode(*encoding))

    mounts = []
    for line in text.split("\n"):
        fields = line.split(" ")
        # ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER_OPTIONS
        try:
            separator = fields.index("-", 6)
            mount_id, parent = int(fields[0]), int(fields[1])
        except (ValueError, IndexError):
            continue
        if len(fields) <= separator + 1:
            continue
        owner = mount_owner(fields[separator + 3]) if len(fields) > separator + 3 else None
        mounts.append(Mount(mount_id, parent, path_of(fields[4]), path_of(fields[separator + 1]), owner))
    return mounts


def _inside(path, folder):
    """Whether `path` is strictly below `folder` (as text)."""
    return path != folder and (folder == "/" or path.startswith(folder + "/"))


def _shadowed(mount, children, points):
    """Whether a sibling of `mount` (same parent) is mounted on a folder above its mount point:
    each folder above the point, that is some mount's point at all, is looked up by (parent,
    folder) in `children`."""
    path = mount.point
    if path != "/" and "/" in points and (mount.parent, "/") in children:
        return True
    index = path.find("/", 1)
    while index > 0:
        folder = path[:index]
        if folder in points and (mount.parent, folder) in children:
            return True
        index = path.find("/", index + 1)
    return False


def _visible(mounts):
    """{mount point: Mount} of the mounts a path can reach (see visible_mounts); where two
    reachable mounts share a point, the later one. Near-linear: each mount looks up the folders
    above its own point, and each chain of parents is walked once."""
    by_id = {}
    children = set()   # (parent id, mount point) of every mount that has a parent
    for mount in mounts:
        by_id[mount.id] = mount
        if mount.parent != mount.id:
            children.add((mount.parent, mount.point))
    points = {point for _, point in children}

    def passes(mount):  # nothing in the way between it and its parent
        if _shadowed(mount, children, points):
            return False
        parent = by_id.get(mount.parent)
        if parent is None or parent is mount or parent.point == mount.point:
            return True
        return (parent.id, parent.point) not in children  # else something covers the parent

    reachable = {}  # mount id -> whether its mount point leads to it (or to what is on top of it)

    def is_reachable(start):
        known = reachable.get(start.id)
        if known is not None:
            return known
        chain, position, mount = [], {}, start
        while True:
            if mount.id in reachable:
                above = reachable[mount.id]
                break
            if mount.id in position:  # a loop (never in a real table): reachable if all of it passes
                loop = chain[position[mount.id]:]
                above = all(passes(link) for link in loop)
                for link in loop:
                    reachable[link.id] = above
                del chain[position[mount.id]:]
                break
            position[mount.id] = len(chain)
            chain.append(mount)
            parent = by_id.get(mount.parent)
            if parent is None or parent is mount:
                above = True
                break
            mount = parent
        for link in reversed(chain):
            above = above and passes(link)
            reachable[link.id] = above
        return reachable[start.id]

    table = {}
    for mount in mounts:
        # Not covered: nothing is mounted on top of it.
        if (mount.id, mount.point) not in children and is_reachable(mount):
            table[mount.point] = mount
    return table


def visible_mounts(mounts):
    """{mount point: filesystem type} of the mounts a path can reach. Hidden are: a mount with
    another on top of it (mounted at the same point, with it as parent); a mount with a sibling
    (same parent) mounted on a folder above it; and what is mounted inside a hidden one."""
    return {point: mount.fstype for point, mount in _visible(mounts).items()}


def _mountinfo_changes(path):
    """A function that says (without waiting) whether the kernel changed the mount table since it
    last said so, from poll(2) on `path`; None where that cannot be watched."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    poller = select.poll()
    poller.register(fd, select.POLLPRI | select.POLLERR)

    def changed(_fd=fd):  # keeps the descriptor open as long as the function lives
        try:
            return bool(poller.poll(0))
        except OSError:
            return False
    return changed


class MountTable:
    """Which mount a path is on, from /proc/self/mountinfo, without any system call on the path.

    The table is read again when `changed()` says the kernel changed it (by default: poll(2) on
    the mountinfo file, which reports each mount, unmount and remount), so a new mount is known
    at once; asking costs that one poll(2) and a dictionary look-up per folder of the path. Only
    where there is no such notice (`changed` is None) is it read again by age, every `max_age`
    seconds. Either way the table is built anew only when the file's text changed. Paths are
    compared as text: a path that reaches a mount through a symbolic link is taken to be where
    its text says it is."""

    def __init__(self, path="/proc/self/mountinfo", clock=time.monotonic, max_age=MOUNT_TABLE_MAX_AGE,
                 changed="poll"):
        self._path = path
        self._clock = clock
        self.max_age = max_age
        self._changed = _mountinfo_changes(path) if changed == "poll" else changed
        self._data = None
        self._points = {}
        self._mounts = {}
        self._read_at = None
        self.reads = 0     # how many times the file was read
        self.builds = 0    # how many times the table was built from it (its text had changed)

    def refresh(self):
        try:
            with open(self._path, "rb") as table:
                data = table.read()
        except OSError as error:
            log.debug("cannot read %s: %s", self._path, error)
            data = b""
        self._read_at = self._clock()
        self.reads += 1
        if data == self._data:
            return
        self._data = data
        self._mounts = _visible(parse_mountinfo(data))
        self._points = {point: mount.fstype for point, mount in self._mounts.items()}
        self.builds += 1

    def _fresh(self):
        if self._read_at is None:
            self.refresh()
        elif self._changed is not None:
            if self._changed():
                self.refresh()
        elif self._clock() - self._read_at >= self.max_age:
            self.refresh()

    def mount_of(self, path):
        """(mount point, filesystem type) of the mount `path` is on (the longest mount point that
        is `path` or a folder above it); None for a path that is not absolute."""
        if not path or not path.startswith("/"):
            return None
        self._fresh()
        path = os.path.normpath(path)
        while True:
            fstype = self._points.get(path)
            if fstype is not None:
                return path, fstype
            parent = os.path.dirname(path)
            if parent == path:
                return None
            path = parent

    def recsync_mount(self, path):
        """The mount point of the recsync mount `path` is on, else None."""
        found = self.mount_of(path)
        return found[0] if found is not None and found[1] == RECSYNC_FSTYPE else None

    def mount_id(self, point):
        """The kernel's id of the mount seen at `point` (a new mount at the same point has
        another), else None."""
        self._fresh()
        mount = self._mounts.get(point)
        return mount.id if mount is not None else None

    def owner(self, point):
        """The uid the mount seen at `point` belongs to (its `user_id=`), else None."""
        self._fresh()
        mount = self._mounts.get(point)
        return mount.owner if mount is not None else None


# --- Asking the mounts, in the background ------------------------------------------------------------


class _NoAnswer:
    def __repr__(self):
        return "NO_ANSWER"


#: What a request's callback gets when its mount did not answer in time (or had stopped
#: answering, so the request was not even sent).
NO_ANSWER = _NoAnswer()

#: The attributes read for a file: its status (None: it has none) and its error ("" when none).
Attributes = collections.namedtuple("Attributes", "status error")


class _Job:
    __slots__ = ("mount", "key", "callbacks", "submitted", "started", "given_up", "done")

    def __init__(self, mount, key, callback, now):
        self.mount, self.key, self.callbacks = mount, key, [callback]
        self.submitted, self.started = now, None
        self.given_up = self.done = False

    def __repr__(self):
        return "<job %r on %s>" % (self.key, self.mount)


class _Lane:
    def __init__(self):
        self.queued = collections.OrderedDict()  # key -> _Job, oldest first
        self.running = []

    @property
    def stalled(self):
        """A request it runs was given up and has not come back: the mount does not answer."""
        return any(job.given_up for job in self.running)


class RequestQueue:
    """Requests to recsync mounts (reads and writes of attributes), run in the background a few
    at a time per mount, with all the bookkeeping on the main loop.

    `submit(mount, key, callback)` queues a request and returns its job, or None when it is
    refused (the mount is stalled, or `queue_limit` requests already wait for it): then nothing
    will be called. A request whose key is already queued is merged into it: both callbacks get
    the one answer. At most `per_mount` requests run at once per mount: `start(job)` begins one
    without waiting and must have `finished(job, answer)` called from the main loop when it is
    done. Each callback is called once, from the main loop and never from inside `submit`: with
    the answer, or with NO_ANSWER when the request ran (or waited) `give_up` seconds without one.

    A mount that keeps a request past `give_up` is stalled: what waits for it is answered
    NO_ANSWER and new requests are refused, so a hung mount holds `per_mount` requests and no
    more. When the late answer comes back (it is dropped), the mount takes requests again and
    `on_recovered(mount)` is called. `call_later(seconds, function)` runs `function` once from
    the main loop; the queue looks at its requests' ages every `check_every` seconds while it
    has any."""

    def __init__(self, start, clock=time.monotonic, call_later=None, per_mount=PER_MOUNT,
                 queue_limit=QUEUE_LIMIT, give_up=GIVE_UP_AFTER, on_recovered=None, check_every=None):
        self._start = start
        self._clock = clock
        self._call_later = call_later
        self.per_mount = per_mount
        self.queue_limit = queue_limit
        self.give_up = give_up
        self.check_every = check_every
        self._on_recovered = on_recovered
        self._lanes = {}
        self._checking = False
        self.counts = collections.Counter()  # submitted, merged, refused, started, gave_up, late

    # what the tests and the debug log look at

    def running(self, mount):
        lane = self._lanes.get(mount)
        return len(lane.running) if lane else 0

    def queued(self, mount):
        lane = self._lanes.get(mount)
        return len(lane.queued) if lane else 0

    def stalled(self, mount):
        lane = self._lanes.get(mount)
        return bool(lane and lane.stalled)

    def __len__(self):
        return sum(len(lane.queued) + len(lane.running) for lane in self._lanes.values())

    # the main loop's side

    def submit(self, mount, key, callback):
        lane = self._lanes.get(mount)
        if lane is None:
            lane = self._lanes[mount] = _Lane()
        if lane.stalled:
            self.counts["refused"] += 1
            return None
        job = lane.queued.get(key)
        if job is not None:
            job.callbacks.append(callback)
            self.counts["merged"] += 1
            return job
        if len(lane.queued) >= self.queue_limit:
            self.counts["refused"] += 1
            return None
        job = lane.queued[key] = _Job(mount, key, callback, self._clock())
        self.counts["submitted"] += 1
        self._run(lane)
        self._check_later()
        return job

    def cancel(self, job, callback):
        """The callback no longer wants the answer; a queued job nobody wants is dropped."""
        if job is None or callback not in job.callbacks:
            return
        job.callbacks.remove(callback)
        if not job.callbacks and not job.done:
            job.done = True
            lane = self._lanes.get(job.mount)
            if lane is not None and lane.queued.get(job.key) is job:
                del lane.queued[job.key]
                self._drop_if_idle(job.mount, lane)

    def finished(self, job, answer):
        """The answer to a job `start` began (from the main loop)."""
        lane = self._lanes.get(job.mount)
        if lane is not None and job in lane.running:
            lane.running.remove(job)
        if job.given_up:
            self.counts["late"] += 1
            log.debug("%s answered after %.1f s; the answer came too late", job.mount,
                      self._clock() - job.started)
        else:
            self._answer(job, answer)
        if lane is None:
            return
        if job.given_up and not lane.stalled:
            log.debug("%s answers again", job.mount)
            if self._on_recovered is not None:
                try:
                    self._on_recovered(job.mount)
                except Exception:
                    log.exception("could not look again at the files %s did not answer about", job.mount)
        self._run(lane)
        self._drop_if_idle(job.mount, lane)

    def expire(self):
        """Gives up on the requests that ran or waited too long (called every `check_every`)."""
        now = self._clock()
        for mount, lane in list(self._lanes.items()):
            was_stalled = lane.stalled
            for job in list(lane.running):
                if not job.given_up and now - job.started >= self.give_up:
                    job.given_up = True
                    self.counts["gave_up"] += 1
                    self._answer(job, NO_ANSWER)
            if lane.stalled and not was_stalled:
                log.warning("%s did not answer within %g s; its files get no emblems until it does",
                            mount, self.give_up)
            for key, job in list(lane.queued.items()):
                if lane.stalled or now - job.submitted >= self.give_up:
                    del lane.queued[key]
                    self.counts["gave_up"] += 1
                    self._answer(job, NO_ANSWER)
            self._drop_if_idle(mount, lane)

    # inside

    def _answer(self, job, answer):
        if job.done:
            return
        job.done = True
        callbacks, job.callbacks = job.callbacks, []
        for callback in callbacks:
            try:
                callback(answer)
            except Exception:
                log.exception("could not use the answer to %r", job)

    def _run(self, lane):
        while lane.queued and len(lane.running) < self.per_mount and not lane.stalled:
            _, job = lane.queued.popitem(last=False)
            job.started = self._clock()
            lane.running.append(job)
            self.counts["started"] += 1
            try:
                self._start(job)
            except Exception:
                log.exception("could not start %r", job)
                lane.running.remove(job)
                if self._call_later is not None:  # answered None, later: never from inside submit
                    self._call_later(0, functools.partial(self._answer, job, None))

    def _drop_if_idle(self, mount, lane):
        if not lane.queued and not lane.running and self._lanes.get(mount) is lane:
            del self._lanes[mount]

    def _check_later(self):
        waiting = any(lane.queued or any(not job.given_up for job in lane.running) for lane in self._lanes.values())
        if self._call_later is None or self._checking or not waiting:
            return
        self._checking = True
        every = self.check_every if self.check_every is not None else min(1.0, self.give_up / 4)
        self._call_later(every, self._check)

    def _check(self):
        self._checking = False
        self.expire()
        self._check_later()


# --- Looking again at files whose status may change ---------------------------------------------

class StatusWatcher:
    """The files whose status may still change, looked at again until it has.

    `watch(key, path, status, payload)` is called whenever the file manager asks about a file.
    A file whose status is in `delays` (WATCH_DELAYS) is kept; any other is forgotten, unless
    `force` is given (after a request was sent: then it is kept until its status changes, for at
    most `force_timeout` seconds). At most `limit` files are kept, the longest watched one making
    room for a new one.

    Looking again takes two steps, so that the reading can happen elsewhere: `due()` gives the
    files that are due, as (key, path, token), and each is not due again until its status is
    given back with `seen(key, token, status)` (which returns [payload] when it changed) or
    `unseen(key, token)` (no answer: looked at again after its longest delay). A file that is gone
    (no status any more, or `is_gone(payload)`) is dropped, and so is one whose new status is not
    watched. `poll()` does both steps at once with `read`.

    A folder's status follows its files, so the folders the file manager asked about are
    remembered too (`remember_folder`, at most `folder_limit`, least recently seen first out):
    when a file's status changed, the remembered folders above it (`folders_above(path)`) are read
    again and given back with `folder_seen(key, path, status)`; `folders_changed_above(path)` does
    both with `read`.

    Where something else says when a status changes (the mount's event log is followed:
    `monitored(path)` is true), every watched file there is looked at again after
    `monitored_delays` instead, as a fallback. `reschedule(folder)` applies the delays anew to
    the files below a folder (when a mount's log stops being followed), `hurry(folder)` makes
    them due at once (when lines of the log were lost); `payloads_at(paths)` and
    `folders_holding(paths)` find the files and remembered folders a change in the log concerns."""

    def __init__(self, read=read_status, clock=time.monotonic, is_gone=None, limit=512,
                 delays=None, forced_delays=FORCED_WATCH_DELAYS, force_timeout=FORCED_WATCH_TIMEOUT,
                 folder_limit=256, monitored=None, monitored_delays=MONITORED_WATCH_DELAYS):
        self._read = read
        self._clock = clock
        self._is_gone = is_gone
        self.limit = limit
        self.delays = dict(WATCH_DELAYS if delays is None else delays)
        self.forced_delays = forced_delays
        self.force_timeout = force_timeout
        self.folder_limit = folder_limit
        self._monitored = monitored
        self.monitored_delays = monitored_delays
        self._entries = collections.OrderedDict()
        self._folders = collections.OrderedDict()
        self._tokens = 0

    def __len__(self):
        return len(self._entries)

    def __contains__(self, key):
        return key in self._entries

    def _delays_of(self, entry):
        """(first delay, longest delay) for a watched file, as things are now."""
        if self._monitored is not None and self._monitored(entry["path"]):
            return self.monitored_delays
        return self.delays.get(entry["status"]) or self.forced_delays

    def _schedule(self, entry, now, forced=False):
        first, _ = self._delays_of(entry)
        entry.update(delay=first, due=now + first,
                     expires=None if entry["status"] in self.delays or not forced else now + self.force_timeout)

    def watch(self, key, path, status, payload=None, force=False):
        """Keeps `key` watched while its status is one that is watched (with force: until it changes)."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry["status"] == status and entry["path"] == path:
            # Seen again as it was: keep its schedule (the file manager asks after each refresh).
            entry["payload"] = payload
            if force:
                self._schedule(entry, now, forced=True)
            return
        self._entries.pop(key, None)
        if not force and status not in self.delays:
            return
        while len(self._entries) >= self.limit:
            self._entries.popitem(last=False)
        self._tokens += 1
        entry = {"path": path, "status": status, "payload": payload, "token": self._tokens, "reading": False}
        self._schedule(entry, now, forced=force)
        self._entries[key] = entry

    def forget(self, key):
        self._entries.pop(key, None)
        self._folders.pop(key, None)

    def remember_folder(self, key, path, status, payload=None):
        """Remembers a folder the file manager shows, to refresh it when a file below changes."""
        self._folders.pop(key, None)
        while len(self._folders) >= self.folder_limit:
            self._folders.popitem(last=False)
        self._folders[key] = {"path": path.rstrip("/") or "/", "status": status, "payload": payload}

    @property
    def folder_count(self):
        return len(self._folders)

    def folders_above(self, path):
        """(key, folder path) of the remembered folders that hold `path` (those gone are dropped)."""
        above = []
        for key, folder in list(self._folders.items()):
            folder_path = folder["path"]
            if path == folder_path or not (folder_path == "/" or path.startswith(folder_path + "/")):
                continue
            if self._is_gone is not None and self._is_gone(folder["payload"]):
                del self._folders[key]
                continue
            above.append((key, folder_path))
        return above

    def folder_seen(self, key, path, status):
        """A remembered folder's status, read again: [its payload] when it changed, else []. A
        folder without a status is dropped."""
        folder = self._folders.get(key)
        if folder is None or folder["path"] != path:
            return []
        if status is None:
            del self._folders[key]
            return []
        if status == folder["status"]:
            return []
        folder["status"] = status
        return [folder["payload"]]

    def folders_changed_above(self, path):
        """Reads the remembered folders that hold `path` again (with `read`); returns the payloads
        of those whose status changed (and drops those that are gone)."""
        changed = []
        for key, folder_path in self.folders_above(path):
            changed.extend(self.folder_seen(key, folder_path, self._read(folder_path)))
        return changed

    def next_due(self):
        """Seconds until the next file is due (0 if one is), or None when nothing is waiting to be
        looked at (none is watched, or all are being read)."""
        waiting = [entry["due"] for entry in self._entries.values() if not entry["reading"]]
        if not waiting:
            return None
        return max(0.0, min(waiting) - self._clock())

    def due(self):
        """The files due to be looked at, as (key, path, token); each is being read until `seen`
        or `unseen` is called with its token."""
        now = self._clock()
        due = []
        for key, entry in list(self._entries.items()):
            if entry["reading"] or entry["due"] > now:
                continue
            if entry["expires"] is not None and now >= entry["expires"]:
                del self._entries[key]
                continue
            if self._is_gone is not None and self._is_gone(entry["payload"]):
                del self._entries[key]
                continue
            entry["reading"] = True
            due.append((key, entry["path"], entry["token"]))
        return due

    def _entry(self, key, token):
        entry = self._entries.get(key)
        return entry if entry is not None and entry["token"] == token else None

    def seen(self, key, token, status):
        """The status read for a due file: [its payload] when it changed, else []. (Nothing happens
        when the file was watched anew since `due` gave the token.)"""
        entry = self._entry(key, token)
        if entry is None:
            return []
        entry["reading"] = False
        now = self._clock()
        if status is None:
            del self._entries[key]
            return []
        if status != entry["status"]:
            if status in self.delays:
                entry["status"] = status
                self._schedule(entry, now)
            else:
                del self._entries[key]
            return [entry["payload"]]
        first, longest = self._delays_of(entry)
        entry["delay"] = min(max(entry["delay"] * 1.5, first), longest)
        entry["due"] = now + entry["delay"]
        return []

    def unseen(self, key, token):
        """No answer for a due file (its mount did not answer): looked at again after its longest
        delay."""
        entry = self._entry(key, token)
        if entry is None:
            return
        entry["reading"] = False
        entry["delay"] = self._delays_of(entry)[1]
        entry["due"] = self._clock() + entry["delay"]

    def _below(self, folder):
        folder = folder.rstrip("/") or "/"
        return [entry for entry in self._entries.values()
                if not entry["reading"] and (entry["path"] == folder or _inside(entry["path"], folder))]

    def reschedule(self, folder):
        """The files watched in `folder` (a mount) start again from their first delay, as
        things are now: sooner when its event log is no longer followed."""
        now = self._clock()
        for entry in self._below(folder):
            first, _ = self._delays_of(entry)
            entry["delay"] = first
            entry["due"] = min(entry["due"], now + first)

    def hurry(self, folder):
        """The files watched in `folder` (a mount) are due at once; returns how many."""
        entries = self._below(folder)
        now = self._clock()
        for entry in entries:
            entry["due"] = min(entry["due"], now)
        return len(entries)

    def payloads_at(self, paths):
        """The payloads of the watched files whose path is in `paths` (a set)."""
        return [entry["payload"] for entry in self._entries.values() if entry["path"] in paths]

    def folders_holding(self, paths):
        """(key, folder path) of the remembered folders above any of `paths` (each once; those
        gone are dropped)."""
        by_path = collections.defaultdict(list)
        for key, folder in list(self._folders.items()):
            if self._is_gone is not None and self._is_gone(folder["payload"]):
                del self._folders[key]
                continue
            by_path[folder["path"]].append(key)
        found = {}
        for path in paths:
            while True:
                parent = os.path.dirname(path)
                if parent == path:
                    break
                path = parent
                for key in by_path.get(path, ()):
                    found[key] = path
        return list(found.items())

    def poll(self):
        """Looks at the files that are due with `read`; returns the payloads of those whose status
        changed, and of the remembered folders above them that changed with them."""
        changed = []
        for key, path, token in self.due():
            for payload in self.seen(key, token, self._read(path)):
                changed.append(payload)
                changed.extend(p for p in self.folders_changed_above(path) if p not in changed)
        return changed


# --- Following the event log ------------------------------------------------------------------
#
# recsync appends one JSON line to the mount's event log (events.jsonl in its state folder) for
# every status change (docs/CONFIGURATION.md, "Events and hooks"); the root folder's
# `user.sync.events` names the file, for the mount's owner and root. The extension watches it
# (a Gio.FileMonitor: inotify) and reads what was appended after each change, in the background.

def parse_event_line(line):
    """(path inside the mount, status) of one line of the event log (bytes or text, without its
    newline); None for a line that is not a status event (not JSON, no path, no status)."""
    try:
        event = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(event, dict):
        return None
    path, status = event.get("path"), event.get("status")
    if not isinstance(path, str) or not path or "\0" in path or not isinstance(status, str) or not status:
        return None
    return path, status


#: recsync's text form of a name (docs/SEMANTICS.md, "Names"): each byte of a name that is not
#: part of valid UTF-8 is the private-use character U+10FF00 + byte; U+10FF80...U+10FFFF stand
#: for nothing else (a name that really holds one has each of its UTF-8 bytes written that way).
_NAME_ESCAPE_BASE = 0x10FF00
_NAME_ESCAPES = re.compile("[\U0010FF80-\U0010FFFF]+")


def name_bytes(text):
    """The bytes of a name or path in recsync's text form (as the event log writes it); None for
    text no name can have (a lone surrogate, which JSON can write and recsync never does)."""
    try:
        if not _NAME_ESCAPES.search(text):
            return text.encode("utf-8")
        parts, start = [], 0
        for escaped in _NAME_ESCAPES.finditer(text):
            parts.append(text[start:escaped.start()].encode("utf-8"))
            parts.append(bytes(ord(char) - _NAME_ESCAPE_BASE for char in escaped.group()))
            start = escaped.end()
        parts.append(text[start:].encode("utf-8"))
        return b"".join(parts)
    except UnicodeEncodeError:
        return None


def event_path(text):
    """A path of the event log as the str Python (and GIO, through PyGObject) gives the same file's
    path: its bytes, with those that are not UTF-8 as lone surrogates (os.fsdecode). None when it
    stands for no name."""
    raw = name_bytes(text)
    return os.fsdecode(raw) if raw is not None else None


def event_changes(lines, mount):
    """{absolute path: status} from lines of a mount's event log, the last status of each path,
    in the order the paths last changed. A path that would leave the mount (absolute, or with
    `..` above its top) is left out. Names that are not UTF-8 get the str a path of theirs has
    in Python (see event_path), so they match the paths the file manager gives."""
    mount = mount.rstrip("/") or "/"
    changes = collections.OrderedDict()
    for line in lines:
        event = parse_event_line(line)
        if event is None:
            continue
        path = event_path(event[0])
        status = event[1]
        if path is None or path.startswith("/"):
            continue
        full = os.path.normpath(os.path.join(mount, path))
        if not _inside(full, mount):
            continue
        changes.pop(full, None)
        changes[full] = status
    return changes


def may_follow_events(owner, viewer):
    """Whether to follow the event log a recsync mount names: only a mount that belongs to the
    user the file manager runs as (its `user_id=`, which FUSE sets to whoever mounted it, is
    `viewer`; for root, only root's mounts). Any user may mount a FUSE filesystem that calls
    itself recsync, and answer `user.sync.events` with any path: the file manager must not open
    what another user's mount names."""
    return owner is not None and viewer is not None and owner == viewer


def event_log_problem(mode, uid, viewer):
    """Why the file at the event log's path is not one to read (its lstat(2) or, once open, its
    fstat(2) mode and owner): "a symbolic link", "not a regular file" (a FIFO or a device, which
    an open(2) could wait on forever, a folder...), "owned by uid N"; None when it is a regular
    file of `viewer`'s. A mode or owner that is not known (None) is a problem too."""
    if mode is None or uid is None:
        return "of an unknown type or owner"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if uid != viewer:
        return "owned by uid %d" % uid
    return None


#: What to read of the event log: `length` bytes from `offset`; `lost` says why lines may have
#: been missed ("rotated", "truncated", "skipped": too much was appended), else None.
ReadPlan = collections.namedtuple("ReadPlan", "offset length lost")


class LogTail:
    """Where the extension is in a log that grows at its end, is renamed away and started anew
    when it is too big (rotated), or is cut (truncated); what to read of it next, and the
    complete lines of what was read.

    `plan(identity, size)` takes the file as the open descriptor sees it: its identity ((device,
    inode)) and size. The first plan starts at the end: what was written before is history (the
    statuses were read from the files themselves). After that, a plan reads what was appended
    since the last one. Another file than last time (rotated) or a shorter one (truncated) is read
    from its start, and more than `read_limit` bytes appended since the last plan are skipped
    (not read); in these three cases the plan's `lost` says that lines may have been missed (the
    reader looks at its files again instead).

    `feed(data)` takes the bytes read (from the plan's offset, in order) and returns the complete
    lines among them, without their newline; the start of a line is kept until its end comes. A
    line longer than `line_limit` bytes is dropped, however many reads it spans, and so is the
    part of a line that a restart or skip cut."""

    def __init__(self, line_limit=EVENT_LINE_LIMIT, read_limit=EVENT_READ_LIMIT):
        self.line_limit = line_limit
        self.read_limit = read_limit
        self.identity = None
        self.offset = 0
        self._partial = b""
        self._skipping = False
        self.dropped = 0

    @property
    def started(self):
        return self.identity is not None

    def _cut(self):
        self._partial = b""
        self._skipping = False

    def plan(self, identity, size):
        if self.identity is None:
            self.identity, self.offset = identity, size
            self._cut()
            return ReadPlan(size, 0, None)
        lost = None
        if identity != self.identity:
            lost = "rotated"
        elif size < self.offset:
            lost = "truncated"
        if lost:
            self.identity, self.offset = identity, 0
            self._cut()
        if size - self.offset > self.read_limit:
            self.offset = size
            self._cut()
            return ReadPlan(size, 0, lost or "skipped")
        return ReadPlan(self.offset, size - self.offset, lost)

    def feed(self, data):
        self.offset += len(data)
        text = self._partial + bytes(data)
        lines = []
        start = 0
        while True:
            end = text.find(b"\n", start)
            if end < 0:
                break
            if self._skipping:  # the end of a line too long to keep
                self._skipping = False
            elif end - start > self.line_limit:
                self.dropped += 1
            else:
                lines.append(text[start:end])
            start = end + 1
        rest = text[start:]
        if self._skipping:
            rest = b""
        elif len(rest) > self.line_limit:
            self.dropped += 1
            self._skipping = True
            rest = b""
        self._partial = rest
        return lines


class LogFollower:
    """When to read one mount's event log. `changed()` is called for each change the file monitor
    reports; the read starts `delay` seconds after the first change of a burst (the changes that
    come meanwhile join it), and only one read runs at a time: a change during a read makes one
    more read after it. `read(follower)` starts a read, which calls `done()` when it finished
    (from the main loop). `call_later(seconds, function)` runs `function` once from the main loop.
    After `close()` nothing more is read. The follower keeps the log's LogTail (`tail`)."""

    def __init__(self, read, call_later, delay=EVENT_DEBOUNCE, line_limit=EVENT_LINE_LIMIT,
                 read_limit=EVENT_READ_LIMIT):
        self._read = read
        self._call_later = call_later
        self.delay = delay
        self.tail = LogTail(line_limit, read_limit)
        self.scheduled = self.reading = self.again = self.closed = False
        self.reads = 0
        self.changes = 0

    @property
    def active(self):
        """Whether it follows the log: not closed, and where the log ends was read once."""
        return self.tail.started and not self.closed

    def changed(self):
        if self.closed:
            return
        self.changes += 1
        self._want()

    def _want(self):
        if self.reading:
            self.again = True
        elif not self.scheduled:
            self.scheduled = True
            self._call_later(self.delay, self._start)

    def _start(self):
        self.scheduled = False
        if self.closed or self.reading:
            return
        self.reading = True
        self.reads += 1
        try:
            self._read(self)
        except Exception:
            log.exception("could not read the event log")
            self.done()

    def done(self):
        if not self.reading:
            return
        self.reading = False
        if self.again and not self.closed:
            self.again = False
            self._want()

    def close(self):
        self.closed = True


# --- The file-manager glue ------------------------------------------------------------------

def _load_bindings():
    """(name, module) of the file manager's extension API: the one its loader already imported
    (nautilus-python, nemo-python and caja-python each import theirs before any extension),
    else the first one installed. (None, None) without GObject introspection."""
    try:
        import gi
    except ImportError:
        return None, None
    import importlib
    for name in ("Nautilus", "Nemo", "Caja"):
        module = sys.modules.get("gi.repository." + name)
        if module is not None:
            return name, module
    candidates = [("Nautilus", "4.0"), ("Nautilus", "3.0"), ("Nemo", "3.0"), ("Caja", "2.0")]
    try:
        with open("/proc/self/comm") as comm:
            process = comm.read().strip().lower()
    except OSError:
        process = ""
    candidates.sort(key=lambda candidate: candidate[0].lower() != process)
    for name, version in candidates:
        try:
            gi.require_version(name, version)
            return name, importlib.import_module("gi.repository." + name)
        except (ValueError, ImportError):
            continue
    return None, None


FILE_MANAGER, _FM = _load_bindings()

STATUS_ATTRIBUTE = "recsync_sync_status"

#: The statuses last read, by path, for the context menu (which the file manager builds at once,
#: so it cannot wait for a read): at most this many.
STATUS_MEMORY = 4096

#: Files a stalled mount was not asked about, by mount, looked at again when it answers: at most
#: this many per mount.
UNANSWERED_LIMIT = 256

#: The files last shown, by path, refreshed when the event log says their status changed: at most
#: this many (the watched files are refreshed too, whether shown lately or not).
SHOWN_LIMIT = 1024

_GIO_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")


def _gio_bytes(value):
    return _GIO_ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), value.encode("utf-8", "surrogateescape"))


def gio_unescape(value):
    """An extended attribute's value as GIO gives it (each byte that is not printable ASCII, and
    the backslash, as `\\xNN`), as text; None stays None."""
    if value is None:
        return None
    return _gio_bytes(value).decode("utf-8", "replace").strip()


def gio_unescape_path(value):
    """The same for a value that is a path: as the str a path has in Python (no byte replaced,
    nothing stripped); None stays None."""
    if value is None:
        return None
    return os.fsdecode(_gio_bytes(value))


def _local_path(file_info):
    """The file's path when it is a local file (file://), else None. No system call."""
    if file_info.get_uri_scheme() != "file":
        return None
    location = file_info.get_location()
    return location.get_path() if location is not None else None


if _FM is not None:
    from gi.repository import Gio, GLib, GObject

    _interfaces = [_FM.InfoProvider, _FM.MenuProvider, _FM.ColumnProvider]
    if hasattr(_FM, "NameAndDescProvider"):  # Nemo's extension manager lists it with this
        _interfaces.append(_FM.NameAndDescProvider)

    #: Whether the file manager's API lets the info provider answer later (all three do; without
    #: it, update_file_info reads on the main thread, and only on recsync mounts).
    ASYNC_INFO = hasattr(_FM, "info_provider_update_complete_invoke") and hasattr(_FM, "OperationResult")

    _QUERY = "xattr::sync.status,xattr::sync.error"  # GIO's names for user.sync.status and .error
    _NOFOLLOW = Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS

    #: What the extension asks about the event log before it opens it (an lstat(2): a file of the
    #: user's, not a symbolic link, a FIFO or a device), and about the open log (an fstat(2));
    #: and how much it reads at a time.
    _LOG_CHECK = "standard::type,unix::mode,unix::uid"
    _LOG_QUERY = "standard::type,standard::size,unix::device,unix::inode,unix::mode,unix::uid"
    _LOG_CHUNK = 256 * 1024
    #: The file monitor's events that say nothing about what the log holds.
    _QUIET_EVENTS = frozenset({Gio.FileMonitorEvent.ATTRIBUTE_CHANGED, Gio.FileMonitorEvent.PRE_UNMOUNT,
                               Gio.FileMonitorEvent.UNMOUNTED})

    def _call_later(seconds, function):
        def fire():
            try:
                function()
            except Exception:
                log.exception("a timer failed")
            return False
        GLib.timeout_add(max(0, int(seconds * 1000)), fire)

    def _reason(error):
        """The reason in a GIO error ("Error setting extended attribute ...: Invalid argument")."""
        return error.message.rsplit(": ", 1)[-1] if error.message else str(error)

    def _log_read_failed(path, error):
        """Logs a failed step of reading the event log, from inside its except clause: GIO's
        own errors (the file gone between a rotation and its next line, say) quietly,
        anything else with its traceback."""
        if isinstance(error, GLib.Error):
            log.debug("cannot read %s: %s", path, error.message)
        else:
            log.exception("could not read the event log")

    def _log_file_problem(info, viewer):
        """event_log_problem for what GIO says of the event log (queried with _LOG_CHECK or
        _LOG_QUERY): why it is not a file to read, or None."""
        mode = info.get_attribute_uint32("unix::mode") if info.has_attribute("unix::mode") else None
        uid = info.get_attribute_uint32("unix::uid") if info.has_attribute("unix::uid") else None
        problem = event_log_problem(mode, uid, viewer)
        if problem is None and info.get_file_type() != Gio.FileType.REGULAR:
            problem = "not a regular file"
        return problem

    class _InfoRequest:
        """An update_file_info_full the extension has not answered yet."""
        __slots__ = ("provider", "handle", "closure", "file_info", "path", "mount", "is_directory", "job",
                     "callback")

    class _Feed:
        """A mount's event log as the extension follows it, or why it does not. `state` is
        "asking" (the root's user.sync.events was asked for), "checking" (the file it names is
        being looked at: is it a regular file of this user's?), "following" (a file monitor
        watches the log), "polling" (the mount is another user's, names no log this user can
        read, names something that is not a regular file of this user's, or its log cannot be
        watched: the watched files are looked at every few seconds instead) or "waiting" (the
        mount did not answer: asked again after `ask_at`)."""

        def __init__(self, mount, mount_id):
            self.mount, self.mount_id = mount, mount_id
            self.state, self.ask_at = "asking", 0.0
            self.path = self.monitor = self.follower = None
            self.lines = self.applied = self.lost = 0

        @property
        def active(self):
            return self.follower is not None and self.follower.active

        def __repr__(self):
            return "<event log of %s: %s%s>" % (self.mount, self.state, " " + self.path if self.path else "")

    class _LogRead:
        __slots__ = ("stream", "left", "lines")

        def __init__(self, stream, left):
            self.stream, self.left, self.lines = stream, left, []

    class RecsyncExtension(GObject.GObject, *_interfaces):
        """Emblems, columns and menu items for the files of recsync mounts.

        It starts no thread of its own: nautilus-python holds Python's interpreter lock while
        Nautilus' main loop runs (nemo-python and caja-python come from the same code), so a
        Python thread would only move when the file manager calls the extension. The attributes
        are read and written by GIO's asynchronous calls instead (a GIO worker thread makes the
        system call, the answer comes back on the main loop), through one RequestQueue for all
        mounts. The file manager's requests are completed from those main-loop callbacks (or
        from the queue's timer when it gives up), never from inside its own call.

        Each mount's event log is followed the same way: a Gio.FileMonitor (one per mount, made
        when the root's user.sync.events answers; dropped when the mount goes away, which a
        main-loop watch on /proc/self/mountinfo reports) wakes a LogFollower, whose reads GIO
        makes in its threads; the lines refresh the files at once."""

        #: GIO's name for the root folder's user.sync.events.
        events_attribute = "xattr::sync.events"

        def __init__(self):
            super().__init__()
            self._mounts = MountTable()
            self._queue = RequestQueue(self._start, call_later=_call_later, on_recovered=self._recovered)
            self._watcher = StatusWatcher(is_gone=lambda info: info.is_gone(), monitored=self._followed)
            self._statuses = collections.OrderedDict()
            self._shown = collections.OrderedDict()
            self._unanswered = {}
            self._requests = set()
            self._timer = None
            self._timer_due = 0.0
            self._feeds = {}
            #: The user whose mounts' event logs are followed (see may_follow_events).
            self._viewer = os.getuid()
            self._mountinfo = self._mountinfo_watch = None
            try:
                # The kernel marks the mount table changed after each mount and unmount (poll(2)
                # says so): a log whose mount went away stops being followed at once.
                self._mountinfo = os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
                self._mountinfo_watch = GLib.io_add_watch(self._mountinfo, GLib.PRIORITY_DEFAULT,
                                                          GLib.IOCondition.PRI | GLib.IOCondition.ERR,
                                                          self._mounts_changed)
            except (OSError, TypeError, GLib.Error) as error:
                log.debug("cannot watch the mount table: %s", error)

        # Nemo's extension manager
        def get_name_and_desc(self):
            return ["recsync:::Sync status emblems and upload actions for recsync folders"]

        # ColumnProvider (one column: Nautilus 43 shows only one of two new columns it has no
        # order for)
        def get_columns(self):
            return [_FM.Column(name="RecsyncExtension::sync_status", attribute=STATUS_ATTRIBUTE,
                               label="Sync Status",
                               description="Whether recsync has uploaded the file, or why not yet")]

        # Where a file is

        def _recsync_path(self, file_info):
            """(path, mount point) of a file on a recsync mount, else (None, None); no system call
            on the file."""
            path = _local_path(file_info)
            mount = self._mounts.recsync_mount(path) if path is not None else None
            return (path, mount) if mount is not None else (None, None)

        # Reading and writing, in the background

        def _start(self, job):
            """Starts a job of the queue: ("read", path) or ("request", path, value)."""
            kind, path = job.key[0], job.key[1]
            location = Gio.File.new_for_path(path)
            if kind == "read":
                location.query_info_async(_QUERY, _NOFOLLOW, GLib.PRIORITY_DEFAULT, None, self._read_done, job)
            elif kind == "events":
                location.query_info_async(self.events_attribute, _NOFOLLOW, GLib.PRIORITY_DEFAULT, None,
                                          self._events_done, job)
            else:
                info = Gio.FileInfo()
                info.set_attribute_string("xattr::sync.request", job.key[2])
                location.set_attributes_async(info, _NOFOLLOW, GLib.PRIORITY_DEFAULT, None, self._write_done, job)

        # Each of these tells the queue that its job finished, whatever happens: a job it is not
        # told of would hold one of the mount's places for the rest of the session.

        def _read_done(self, location, result, job):
            answer = NO_ANSWER
            try:
                info = location.query_info_finish(result)
                status = gio_unescape(info.get_attribute_string("xattr::sync.status"))
                answer = Attributes(status, gio_unescape(info.get_attribute_string("xattr::sync.error")) or "") \
                    if status else None
            except GLib.Error as error:
                log.debug("%s: %s", job.key[1], error.message)
                answer = None
            except Exception:
                log.exception("could not read the attributes of %s", job.key[1])
            finally:
                self._queue.finished(job, answer)

        def _events_done(self, location, result, job):
            answer = NO_ANSWER
            try:
                info = location.query_info_finish(result)
                answer = gio_unescape_path(info.get_attribute_string(self.events_attribute))
            except GLib.Error as error:
                log.debug("%s: %s", job.key[1], error.message)
            except Exception:
                log.exception("could not read the event log's path of %s", job.key[1])
            finally:
                self._queue.finished(job, answer)

        def _write_done(self, location, result, job):
            answer = "the request could not be sent"
            try:
                location.set_attributes_finish(result)
                answer = None
            except GLib.Error as error:
                answer = _reason(error)
            except Exception as error:
                log.exception("could not send the request to %s", job.key[1])
                answer = "the request could not be sent (%s)" % (error,)
            finally:
                self._queue.finished(job, answer)

        def _read(self, path, callback):
            """Reads `path`'s status in the background: callback(Attributes, or None when it has
            none, or NO_ANSWER) from the main loop; at once when its mount does not take it."""
            mount = self._mounts.recsync_mount(path)
            if mount is None:
                callback(None)
            elif self._queue.submit(mount, ("read", path), callback) is None:
                callback(NO_ANSWER)

        def _remember_status(self, path, status):
            self._statuses.pop(path, None)
            if status is not None:
                self._statuses[path] = status
                while len(self._statuses) > STATUS_MEMORY:
                    self._statuses.popitem(last=False)

        def _remember_unanswered(self, mount, file_info):
            files = self._unanswered.setdefault(mount, collections.OrderedDict())
            uri = file_info.get_uri()
            files.pop(uri, None)
            files[uri] = file_info
            while len(files) > UNANSWERED_LIMIT:
                files.popitem(last=False)

        def _recovered(self, mount):
            """A mount that had stopped answering answers again: the files it was not asked about
            are looked at again (the file manager asks once more)."""
            files = self._unanswered.pop(mount, None) or {}
            log.debug("%s answers again; refreshing %d files", mount, len(files))
            for file_info in files.values():
                if not file_info.is_gone():
                    file_info.invalidate_extension_info()

        # InfoProvider

        def _remember_shown(self, path, file_info):
            self._shown.pop(path, None)
            self._shown[path] = file_info
            while len(self._shown) > SHOWN_LIMIT:
                self._shown.popitem(last=False)

        def _describe(self, file_info, path, status, error, is_directory):
            """Puts what was read on the file."""
            self._remember_status(path, status)
            if status is None:
                self._shown.pop(path, None)
                return
            self._remember_shown(path, file_info)
            self._follow(path)
            for emblem in emblems_for(status):
                file_info.add_emblem(emblem)
            if status not in ("pending", "failed") or is_directory:
                error = ""
            file_info.add_string_attribute(STATUS_ATTRIBUTE, status_text(status, error))
            log.debug("%s: %s, emblems %s", path, status, emblems_for(status))
            if is_directory:
                self._watcher.remember_folder(file_info.get_uri(), path, status, file_info)
            self._watch(file_info, path, status)

        def update_file_info(self, file_info):
            """For a loader that cannot wait for an answer: reads on the main thread, only on
            recsync mounts."""
            try:
                path, _ = self._recsync_path(file_info)
                if path is not None:
                    status, is_directory = read_status(path), file_info.is_directory()
                    error = read_attribute(path, ATTR_ERROR) if status in ("pending", "failed") and not is_directory else ""
                    self._describe(file_info, path, status, error, is_directory)
            except Exception:  # never let an exception reach the file manager
                log.exception("could not describe a file")
            return None

        if ASYNC_INFO:
            def update_file_info_full(self, provider, handle, closure, file_info):
                """Answers at once for a file outside recsync mounts (COMPLETE, nothing read) and
                for one whose mount does not answer; else reads in the background (IN_PROGRESS)
                and completes the update from the main loop."""
                try:
                    path, mount = self._recsync_path(file_info)
                    if path is None:
                        return _FM.OperationResult.COMPLETE
                    request = _InfoRequest()
                    request.provider, request.handle, request.closure = provider, handle, closure
                    request.file_info, request.path, request.mount = file_info, path, mount
                    request.is_directory = file_info.is_directory()
                    request.callback = functools.partial(self._info_answered, request)
                    request.job = self._queue.submit(mount, ("read", path), request.callback)
                except Exception:
                    log.exception("could not describe a file")
                    return _FM.OperationResult.COMPLETE
                if request.job is None:
                    log.debug("%s: %s is not answering; no emblem", path, mount)
                    self._remember_unanswered(mount, file_info)
                    return _FM.OperationResult.COMPLETE
                self._requests.add(request)
                return _FM.OperationResult.IN_PROGRESS

            def cancel_update(self, provider, handle):
                """The file manager no longer wants an answer (its closure must not be called).
                Nautilus gives every request the same handle and never cancels; Nemo gives each
                its own."""
                for request in list(self._requests):
                    try:
                        same = request.handle is handle or request.handle == handle
                    except Exception:
                        same = False
                    if same:
                        self._requests.discard(request)
                        self._queue.cancel(request.job, request.callback)
                        log.debug("%s: the file manager cancelled the update", request.path)

        def _info_answered(self, request, answer):
            """The answer to an update_file_info_full, on the main loop: describe, then complete."""
            if request not in self._requests:
                return
            self._requests.discard(request)
            try:
                if answer is NO_ANSWER:
                    log.debug("%s: no answer from %s; no emblem", request.path, request.mount)
                    self._remember_unanswered(request.mount, request.file_info)
                else:
                    status, error = answer if answer is not None else (None, "")
                    self._describe(request.file_info, request.path, status, error, request.is_directory)
            except Exception:
                log.exception("could not describe a file")
            try:
                _FM.info_provider_update_complete_invoke(request.closure, request.provider, request.handle,
                                                         _FM.OperationResult.COMPLETE)
            except Exception:
                log.exception("could not complete an update")

        # Looking again at the files whose status may change

        def _watch(self, file_info, path, status, force=False):
            self._watcher.watch(file_info.get_uri(), path, status, file_info, force=force)
            self._schedule()

        def _schedule(self):
            """One timer, set for when the next watched file is due; none when none is waiting."""
            delay = self._watcher.next_due()
            if delay is None:
                return
            due = time.monotonic() + delay
            if self._timer is not None:
                if self._timer_due <= due + 0.05:
                    return
                GLib.source_remove(self._timer)
            self._timer_due = due
            self._timer = GLib.timeout_add(max(50, int(delay * 1000)), self._tick)

        def _tick(self):
            self._timer = None
            try:
                for key, path, token in self._watcher.due():
                    self._read(path, functools.partial(self._watched_answer, key, token, path))
            except Exception:
                log.exception("could not look at the watched files again")
            self._schedule()
            return False

        def _watched_answer(self, key, token, path, answer):
            try:
                if answer is NO_ANSWER:
                    self._watcher.unseen(key, token)
                else:
                    status = answer.status if answer is not None else None
                    self._remember_status(path, status)
                    for file_info in self._watcher.seen(key, token, status):
                        log.debug("%s changed; refreshing", file_info.get_uri())
                        file_info.invalidate_extension_info()
                        self._refresh_folders_above(path)
            except Exception:
                log.exception("could not look at a watched file again")
            self._schedule()

        def _refresh_folders_above(self, path):
            for key, folder in self._watcher.folders_above(path):
                self._read(folder, functools.partial(self._folder_answer, key, folder))

        def _folder_answer(self, key, folder, answer):
            if answer is NO_ANSWER:
                return
            status = answer.status if answer is not None else None
            self._remember_status(folder, status)
            for file_info in self._watcher.folder_seen(key, folder, status):
                log.debug("%s changed; refreshing", file_info.get_uri())
                file_info.invalidate_extension_info()

        # Following each mount's event log

        def _followed(self, path):
            """Whether the event log of `path`'s mount is followed (so its statuses need not be
            looked at often)."""
            feed = self._feeds.get(self._mounts.recsync_mount(path))
            return feed is not None and feed.active

        def _follow(self, path):
            """Starts following the event log of `path`'s mount, unless it is already followed
            (or known to have none): asks the mount's root for user.sync.events, once."""
            mount = self._mounts.recsync_mount(path)
            if mount is None:
                return
            mount_id = self._mounts.mount_id(mount)
            feed = self._feeds.get(mount)
            if feed is not None and feed.mount_id != mount_id:
                self._unfollow(mount, "mounted again")
                feed = None
            if feed is None:
                feed = self._feeds[mount] = _Feed(mount, mount_id)
                owner = self._mounts.owner(mount)
                if not may_follow_events(owner, self._viewer):
                    feed.state = "polling"
                    log.debug("%s belongs to uid %s, not to this user (uid %d): its event log is not followed; "
                              "looking at its files every few seconds", mount, owner, self._viewer)
                    return
            elif feed.state != "waiting" or time.monotonic() < feed.ask_at:
                return
            feed.state = "asking"
            if self._queue.submit(mount, ("events", mount), functools.partial(self._events_answered, feed)) is None:
                feed.state, feed.ask_at = "waiting", time.monotonic() + EVENT_ASK_AGAIN

        def _events_answered(self, feed, answer):
            """The root's user.sync.events: the log's path; None when the mount has none for this
            user (an older recsync; another user of an allow_other mount); NO_ANSWER."""
            if self._feeds.get(feed.mount) is not feed:
                return
            if answer is NO_ANSWER:
                feed.state, feed.ask_at = "waiting", time.monotonic() + EVENT_ASK_AGAIN
                return
            if not answer or not answer.startswith("/"):
                feed.state = "polling"
                log.debug("%s names no event log this user can read; looking at its files every few seconds",
                          feed.mount)
                return
            # Nothing is opened or watched before the file is known to be a regular file of this
            # user's: an open(2) of a FIFO would hold a GIO thread forever.
            feed.state, feed.path = "checking", answer
            Gio.File.new_for_path(answer).query_info_async(_LOG_CHECK, _NOFOLLOW, GLib.PRIORITY_DEFAULT, None,
                                                           self._log_checked_first, feed)

        def _log_checked_first(self, location, result, feed):
            """What the path the mount names is: follow it if it is a regular file of this user's
            (or not there yet: recsync makes it with the first event), else look at the files."""
            if self._feeds.get(feed.mount) is not feed or feed.state != "checking":
                return
            try:
                problem = _log_file_problem(location.query_info_finish(result), self._viewer)
            except GLib.Error as error:
                problem = None if error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND) else error.message
            except Exception as error:
                log.exception("could not look at the event log %s", feed.path)
                problem = str(error)
            if problem is not None:
                feed.state = "polling"
                log.debug("%s names %s as its event log, which is %s; looking at its files every few seconds",
                          feed.mount, feed.path, problem)
                return
            try:
                monitor = location.monitor_file(Gio.FileMonitorFlags.WATCH_MOVES, None)
            except GLib.Error as error:
                feed.state = "polling"
                log.debug("cannot watch %s: %s; looking at the files of %s every few seconds", feed.path,
                          error.message, feed.mount)
                return
            monitor.set_rate_limit(100)  # milliseconds between two reports of a file that keeps changing
            monitor.connect("changed", self._log_changed, feed)
            feed.monitor, feed.state = monitor, "following"
            feed.follower = LogFollower(functools.partial(self._read_log, feed), _call_later)
            feed.follower.changed()  # finds where the log ends now
            log.debug("%s: following its event log %s", feed.mount, feed.path)

        def _stop_following(self, feed, why):
            """The log is no longer one to read: its mount's files are looked at every few seconds
            instead (the mount is not asked again while it stays mounted)."""
            if feed.follower is not None:
                feed.follower.close()
            if feed.monitor is not None:
                feed.monitor.cancel()
                feed.monitor = None
            feed.state = "polling"
            log.debug("%s: its event log %s is %s; no longer followed, looking at its files every few seconds",
                      feed.mount, feed.path, why)
            if self._feeds.get(feed.mount) is feed:
                self._watcher.reschedule(feed.mount)
                self._schedule()

        def _unfollow(self, mount, why):
            feed = self._feeds.pop(mount, None)
            if feed is None:
                return
            if feed.follower is not None:
                feed.follower.close()
            if feed.monitor is not None:
                feed.monitor.cancel()
            log.debug("%s %s; its event log is no longer followed", mount, why)
            self._watcher.reschedule(mount)
            self._schedule()

        def _mounts_changed(self, *_args):
            """The kernel changed the mount table: the logs of mounts that went away are dropped."""
            try:
                for mount, feed in list(self._feeds.items()):
                    if self._mounts.recsync_mount(mount) != mount or self._mounts.mount_id(mount) != feed.mount_id:
                        self._unfollow(mount, "is no longer mounted")
            except Exception:
                log.exception("could not look at the mount table")
            return True

        def _log_changed(self, _monitor, _file, _other, event, feed):
            if event not in _QUIET_EVENTS and feed.follower is not None:
                feed.follower.changed()

        def _read_log(self, feed, _follower):
            """Reads what was appended to the log since the last read, in the background: lstat
            (it must still be a regular file of this user's), open, fstat (the same, for the file
            opened), then at most EVENT_READ_LIMIT bytes (GIO's worker threads do the system
            calls; the seek to where the last read ended only sets the descriptor's offset)."""
            Gio.File.new_for_path(feed.path).query_info_async(_LOG_CHECK, _NOFOLLOW, GLib.PRIORITY_DEFAULT, None,
                                                              self._log_checked, feed)

        def _log_checked(self, location, result, feed):
            opened = False
            try:
                problem = _log_file_problem(location.query_info_finish(result), self._viewer)
                if feed.follower.closed:
                    pass
                elif problem is not None:
                    self._stop_following(feed, problem)
                else:
                    location.read_async(GLib.PRIORITY_DEFAULT, None, self._log_opened, feed)
                    opened = True
            except Exception as error:  # not there (between a rotation and the next line, say)
                _log_read_failed(feed.path, error)
            finally:
                if not opened:
                    feed.follower.done()

        def _log_opened(self, location, result, feed):
            try:
                stream = location.read_finish(result)
            except Exception as error:
                _log_read_failed(feed.path, error)
                feed.follower.done()
                return
            if feed.follower.closed:
                self._log_read(feed, _LogRead(stream, 0))
                return
            try:
                stream.query_info_async(_LOG_QUERY, GLib.PRIORITY_DEFAULT, None, self._log_measured, feed)
            except Exception:
                log.exception("could not read the event log")
                self._log_read(feed, _LogRead(stream, 0))

        def _log_measured(self, stream, result, feed):
            read = _LogRead(stream, 0)
            try:
                info = stream.query_info_finish(result)
                problem = _log_file_problem(info, self._viewer)
                if problem is not None:  # replaced between the lstat and the open: nothing is read
                    self._stop_following(feed, problem)
                elif not feed.follower.closed:
                    identity = (info.get_attribute_uint32("unix::device"), info.get_attribute_uint64("unix::inode"))
                    plan = feed.follower.tail.plan(identity, info.get_size())
                    if plan.lost:
                        self._log_lost(feed, plan.lost)
                    if plan.length and not feed.follower.closed:
                        stream.seek(plan.offset, GLib.SeekType.SET, None)
                        read.left = plan.length
            except Exception as error:
                _log_read_failed(feed.path, error)
                read.left = 0
            self._log_next(feed, read)

        def _log_next(self, feed, read):
            if read.left > 0 and not feed.follower.closed:
                try:
                    read.stream.read_bytes_async(min(read.left, _LOG_CHUNK), GLib.PRIORITY_DEFAULT, None,
                                                 self._log_chunk, (feed, read))
                    return
                except Exception:
                    log.exception("could not read the event log")
            self._log_read(feed, read)

        def _log_chunk(self, stream, result, args):
            feed, read = args
            try:
                data = stream.read_bytes_finish(result).get_data() or b""
                if not data:
                    read.left = 0
                elif not feed.follower.closed:
                    read.lines.extend(feed.follower.tail.feed(data))
                    read.left -= len(data)
            except Exception as error:
                _log_read_failed(feed.path, error)
                read.left = 0
            self._log_next(feed, read)

        def _log_read(self, feed, read):
            """The read is over: the stream is closed, the lines are used, the next read may start."""
            def closed(stream, result, _data):
                try:
                    stream.close_finish(result)
                except GLib.Error:
                    pass
            try:
                read.stream.close_async(GLib.PRIORITY_DEFAULT, None, closed, None)
                if read.lines and not feed.follower.closed:
                    self._apply_events(feed, read.lines)
            except Exception:
                log.exception("could not use the event log")
            feed.follower.done()

        def _log_lost(self, feed, why):
            """Lines of the log may have been missed: the watched files of the mount are looked at
            again now, as they would be without the log."""
            feed.lost += 1
            count = self._watcher.hurry(feed.mount)
            log.debug("%s: event log %s; looking at %d watched files again", feed.mount, why, count)
            self._schedule()

        def _apply_events(self, feed, lines):
            """The files the new lines name are refreshed at once (the file manager then asks about
            them, and gets their attributes read anew), and the folders shown above them are read
            again."""
            changes = event_changes(lines, feed.mount)
            feed.lines += len(lines)
            feed.applied += len(changes)
            if not changes:
                return
            infos = []
            for path, status in changes.items():
                log.debug("%s: %s (event log)", path, status)
                if path in self._statuses:
                    self._remember_status(path, status)
                shown = self._shown.get(path)
                if shown is not None:
                    infos.append(shown)
            paths = set(changes)
            infos.extend(self._watcher.payloads_at(paths))
            refreshed = set()
            for file_info in infos:
                if id(file_info) in refreshed or file_info.is_gone():
                    continue
                refreshed.add(id(file_info))
                log.debug("%s changed; refreshing", file_info.get_uri())
                file_info.invalidate_extension_info()
            for key, folder in self._watcher.folders_holding(paths):
                self._read(folder, functools.partial(self._folder_answer, key, folder))

        # MenuProvider (Nautilus 4.0 passes the files; 3.0, Nemo and Caja the window first)
        def get_file_items(self, *args):
            try:
                return self._menu_items(args[-1])
            except Exception:
                log.exception("could not build the menu")
                return []

        def get_background_items(self, *args):
            return []

        def _menu_items(self, files):
            """From the statuses last read (the file manager asked about each file it shows)."""
            selection = []
            infos = {}
            for file_info in files:
                path, _ = self._recsync_path(file_info)
                if path is None:
                    continue
                status = self._statuses.get(path)
                selection.append(SelectedFile(path, status, file_info.is_directory()))
                infos[path] = (file_info, status)
            items = []
            for action in menu_actions(selection):
                item = _FM.MenuItem(name=action.name, label=action.label, tip=action.tip,
                                    icon="emblem-synchronizing")
                item.connect("activate", self._activate, action, [infos[path] for path in action.paths])
                items.append(item)
            return items

        def _activate(self, _item, action, targets):
            """Sends the request to each file in the background; `targets` are (file_info, status
            when the menu was made). Failures are reported once all have answered."""
            try:
                progress = {"left": len(targets), "failures": []}
                for file_info, before in targets:
                    path, mount = self._recsync_path(file_info)
                    done = functools.partial(self._sent, action, progress, file_info, path or _local_path(file_info),
                                             before)
                    if mount is None:
                        done("not in a recsync mount any more")
                    elif self._queue.submit(mount, ("request", path, action.request), done) is None:
                        done(NO_ANSWER)
            except Exception:
                log.exception("could not send the request")

        def _sent(self, action, progress, file_info, path, before, outcome):
            try:
                if outcome is NO_ANSWER:
                    progress["failures"].append((path, "the mount did not answer"))
                elif outcome is not None:
                    progress["failures"].append((path, outcome))
                else:
                    # Until recsync has visibly acted on it, look again whatever the status is.
                    self._read(path, functools.partial(self._requested, file_info, path, before))
                progress["left"] -= 1
                if progress["left"] == 0:
                    if progress["failures"]:
                        self._tell(describe_failures(action.request, progress["failures"]))
                    else:
                        log.debug("%s requested for %s", action.request, action.paths)
            except Exception:
                log.exception("could not send the request")

        def _requested(self, file_info, path, before, answer):
            if answer is NO_ANSWER:
                return
            try:
                status = answer.status if answer is not None else None
                self._remember_status(path, status)
                self._watch(file_info, path, status, force=status == before)
                file_info.invalidate_extension_info()
                self._refresh_folders_above(path)
            except Exception:
                log.exception("could not look at a file again after a request")

        def _tell(self, message):
            log.warning("%s", message)
            try:
                application = Gio.Application.get_default()
                if application is not None:
                    notification = Gio.Notification.new("recsync")
                    notification.set_body(message)
                    application.send_notification("recsync-request", notification)
            except Exception:
                log.exception("could not show a notification")
