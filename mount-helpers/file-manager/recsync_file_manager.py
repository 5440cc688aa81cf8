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
- while the status may still change (pending, syncing; failed, less often), it looks again
  every few seconds and asks the file manager to redraw the file when it did;
- "Upload Now" (writes `user.sync.request=now`) and "Retry Upload" (writes `retry`) in the
  context menu of the files that can use them.

A file outside a recsync mount costs one failed getxattr(2) and gets nothing.

The decisions (status to emblem and label, selection to menu actions, what to look at again
when) are plain functions and classes that need no GObject introspection; the file-manager
glue at the bottom is only defined when the bindings are there. Set
RECSYNC_FILE_MANAGER_DEBUG=1 in the file manager's environment to log what the extension does.
"""

import collections
import logging
import os
import sys
import time

__all__ = [
    "ATTR_STATUS", "ATTR_ERROR", "ATTR_REQUEST", "STATUSES", "STATUS_EMBLEMS", "STATUS_LABELS",
    "CHANGING_STATUSES", "WATCH_DELAYS", "UPLOAD_NOW", "RETRY", "MenuAction", "SelectedFile",
    "read_status", "read_attribute", "emblems_for", "status_label", "short_error", "status_text",
    "may_change",
    "menu_actions", "send_request", "describe_failures", "StatusWatcher",
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

UPLOAD_NOW = "now"
RETRY = "retry"


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


def send_request(paths, request, setxattr=os.setxattr):
    """Writes `user.sync.request=REQUEST` on each path. Returns [(path, OSError)] for the
    ones that failed; the others have been handed to recsync."""
    failures = []
    for path in paths:
        try:
            setxattr(path, ATTR_REQUEST, request.encode(), follow_symlinks=False)
        except OSError as error:
            failures.append((path, error))
    return failures


def describe_failures(request, failures):
    """One line a person can read for the failures send_request returned; "" for none."""
    if not failures:
        return ""
    what = "upload" if request == UPLOAD_NOW else "retry"
    parts = []
    for path, error in failures[:3]:
        reason = error.strerror or str(error)
        parts.append("%s: %s" % (os.path.basename(path) or path, reason))
    more = len(failures) - len(parts)
    if more > 0:
        parts.append("and %d more" % more)
    return "recsync could not %s %s" % (what, "; ".join(parts))


# --- Looking again at files whose status may change ---------------------------------------------

class StatusWatcher:
    """The files whose status may still change, looked at again until it has.

    `watch(key, path, status, payload)` is called whenever the file manager asks about a file.
    A file whose status is in `delays` (WATCH_DELAYS) is kept; any other is forgotten, unless
    `force` is given (after a request was sent: then it is kept until its status changes, for at
    most `force_timeout` seconds). `poll()` reads the status of the files that are due and
    returns the payloads whose status changed, for the caller to refresh; a file that is gone
    (no status any more, or `is_gone(payload)`) is dropped, and so is one whose new status is not
    watched. At most `limit` files are kept, the longest watched one making room for a new one.

    A folder's status follows its files, so the folders the file manager asked about are
    remembered too (`remember_folder`, at most `folder_limit`, least recently seen first out):
    when a file's status changes, `poll()` also reads the remembered folders above it again and
    reports those that changed; `folders_changed_above(path)` does the same on demand (after a
    request was sent)."""

    def __init__(self, read=read_status, clock=time.monotonic, is_gone=None, limit=512,
                 delays=None, forced_delays=FORCED_WATCH_DELAYS, force_timeout=FORCED_WATCH_TIMEOUT,
                 folder_limit=256):
        self._read = read
        self._clock = clock
        self._is_gone = is_gone
        self.limit = limit
        self.delays = dict(WATCH_DELAYS if delays is None else delays)
        self.forced_delays = forced_delays
        self.force_timeout = force_timeout
        self.folder_limit = folder_limit
        self._entries = collections.OrderedDict()
        self._folders = collections.OrderedDict()

    def __len__(self):
        return len(self._entries)

    def __contains__(self, key):
        return key in self._entries

    def _schedule(self, entry, now, forced=False):
        first, longest = self.delays.get(entry["status"]) or self.forced_delays
        entry.update(delay=first, longest=longest, due=now + first,
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
        entry = {"path": path, "status": status, "payload": payload}
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

    def folders_changed_above(self, path):
        """Reads the remembered folders that hold `path` again; returns the payloads of those
        whose status changed (and drops those that are gone)."""
        changed = []
        for key, folder in list(self._folders.items()):
            above = folder["path"]
            if path == above or not (above == "/" or path.startswith(above + "/")):
                continue
            if self._is_gone is not None and self._is_gone(folder["payload"]):
                del self._folders[key]
                continue
            status = self._read(above)
            if status is None:
                del self._folders[key]
            elif status != folder["status"]:
                folder["status"] = status
                changed.append(folder["payload"])
        return changed

    def next_due(self):
        """Seconds until the next file is due (0 if one is), or None when nothing is watched."""
        if not self._entries:
            return None
        return max(0.0, min(entry["due"] for entry in self._entries.values()) - self._clock())

    def poll(self):
        """Looks at the files that are due; returns the payloads of those whose status changed."""
        now = self._clock()
        changed = []
        for key, entry in list(self._entries.items()):
            if entry["due"] > now:
                continue
            if entry["expires"] is not None and now >= entry["expires"]:
                del self._entries[key]
                continue
            if self._is_gone is not None and self._is_gone(entry["payload"]):
                del self._entries[key]
                continue
            status = self._read(entry["path"])
            if status is None:
                del self._entries[key]
                continue
            if status != entry["status"]:
                changed.append(entry["payload"])
                changed.extend(p for p in self.folders_changed_above(entry["path"]) if p not in changed)
                if status in self.delays:
                    entry["status"] = status
                    self._schedule(entry, now)
                else:
                    del self._entries[key]
                continue
            entry["delay"] = min(entry["delay"] * 1.5, entry["longest"])
            entry["due"] = now + entry["delay"]
        return changed


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

    class RecsyncExtension(GObject.GObject, *_interfaces):
        """Emblems, columns and menu items for the files of recsync mounts."""

        def __init__(self):
            super().__init__()
            self._watcher = StatusWatcher(is_gone=lambda info: info.is_gone())
            self._timer = None
            self._timer_due = 0.0

        # Nemo's extension manager
        def get_name_and_desc(self):
            return ["recsync:::Sync status emblems and upload actions for recsync folders"]

        # ColumnProvider (one column: Nautilus 43 shows only one of two new columns it has no
        # order for)
        def get_columns(self):
            return [_FM.Column(name="RecsyncExtension::sync_status", attribute=STATUS_ATTRIBUTE,
                               label="Sync Status",
                               description="Whether recsync has uploaded the file, or why not yet")]

        # InfoProvider
        def update_file_info(self, file_info):
            try:
                self._describe(file_info)
            except Exception:  # never let an exception reach the file manager
                log.exception("could not describe a file")
            return None

        def _describe(self, file_info):
            path = _local_path(file_info)
            if path is None:
                return
            status = read_status(path)
            if status is None:
                return
            for emblem in emblems_for(status):
                file_info.add_emblem(emblem)
            error = ""
            if status in ("pending", "failed") and not file_info.is_directory():
                error = read_attribute(path, ATTR_ERROR)
            file_info.add_string_attribute(STATUS_ATTRIBUTE, status_text(status, error))
            log.debug("%s: %s, emblems %s", path, status, emblems_for(status))
            if file_info.is_directory():
                self._watcher.remember_folder(file_info.get_uri(), path, status, file_info)
            self._watch(file_info, path, status)

        def _watch(self, file_info, path, status, force=False):
            self._watcher.watch(file_info.get_uri(), path, status, file_info, force=force)
            self._schedule()

        def _schedule(self):
            """One timer, set for when the next watched file is due; none when none is watched."""
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
                for file_info in self._watcher.poll():
                    log.debug("%s changed; refreshing", file_info.get_uri())
                    file_info.invalidate_extension_info()
            except Exception:
                log.exception("could not look at the watched files again")
            self._schedule()
            return False

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
            selection = []
            infos = {}
            for file_info in files:
                path = _local_path(file_info)
                if path is None:
                    continue
                selection.append(SelectedFile(path, read_status(path), file_info.is_directory()))
                infos[path] = (file_info, selection[-1].status)
            items = []
            for action in menu_actions(selection):
                item = _FM.MenuItem(name=action.name, label=action.label, tip=action.tip,
                                    icon="emblem-synchronizing")
                item.connect("activate", self._activate, action, [infos[path] for path in action.paths])
                items.append(item)
            return items

        def _activate(self, _item, action, targets):
            """Sends the request; `targets` are (file_info, status when the menu was made)."""
            try:
                failures = send_request(action.paths, action.request)
                failed = {path for path, _ in failures}
                for file_info, before in targets:
                    path = _local_path(file_info)
                    if path in failed:
                        continue
                    # Until recsync has visibly acted on it, look again whatever the status is.
                    status = read_status(path)
                    self._watch(file_info, path, status, force=status == before)
                    file_info.invalidate_extension_info()
                    for folder_info in self._watcher.folders_changed_above(path):
                        folder_info.invalidate_extension_info()
                if failures:
                    self._tell(describe_failures(action.request, failures))
                else:
                    log.debug("%s requested for %s", action.request, action.paths)
            except Exception:
                log.exception("could not send the request")

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
