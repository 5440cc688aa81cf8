#!/usr/bin/env python3
"""conformance: POSIX checks run the same way on two folders, so their results can be compared.

Used by recsync's integration tests: once on a plain folder of the backing filesystem and once
inside a recsync mount. Each check works in its own subfolder of DIR and records what it saw
(modes, owners, sizes, contents, errno names); the test requires both runs to agree, apart from
the differences docs/SEMANTICS.md documents.

    conformance.py DIR            # prints one JSON object: {check name: result}

Runs as root: permission checks fork children that drop to uids 1000 and 1001.
Python 3 standard library only.
"""

import ctypes
import errno
import fcntl
import json
import mmap
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import time

USER_A = 1000
USER_B = 1001
GROUP_A = 1000
SHARED_GROUP = 1234


def err(fn, *args):
    """Calls fn and returns 'ok' (or its result) or the errno name it failed with."""
    try:
        result = fn(*args)
        return "ok" if result is None else result
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))


def as_user(uid, gid, fn):
    """Runs fn in a child process with the given ids; returns what fn returned (JSON-able)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            result = fn()
            os.write(write_end, json.dumps(result).encode())
        except BaseException as error:  # report, never hang the parent
            os.write(write_end, json.dumps(f"child raised {error!r}").encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    data = b""
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    return json.loads(data.decode() or "null")


def mode_of(path, follow=False):
    st = os.stat(path) if follow else os.lstat(path)
    return oct(stat.S_IMODE(st.st_mode))


def owner_of(path):
    st = os.lstat(path)
    return [st.st_uid, st.st_gid]


def write_file(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as handle:
        return handle.read()


# --- checks ------------------------------------------------------------------------------

def check_create_modes(d):
    old = os.umask(0o022)
    try:
        write_file(f"{d}/f", b"x", 0o666)
        os.mkdir(f"{d}/sub", 0o777)
        os.umask(0o077)
        write_file(f"{d}/private", b"x", 0o666)
    finally:
        os.umask(old)
    return {"file": mode_of(f"{d}/f"), "dir": mode_of(f"{d}/sub"), "umask077": mode_of(f"{d}/private")}


def check_ownership_of_new_items(d):
    os.chmod(d, 0o777)

    def child():
        write_file(f"{d}/file", b"x")
        os.mkdir(f"{d}/dir")
        os.symlink("file", f"{d}/link")
        os.link(f"{d}/file", f"{d}/hard")
        return {name: owner_of(f"{d}/{name}") for name in ["file", "dir", "link", "hard"]}

    return as_user(USER_A, GROUP_A, child)


def check_setgid_folder_inheritance(d):
    os.mkdir(f"{d}/shared")
    os.chown(f"{d}/shared", 0, SHARED_GROUP)
    os.chmod(f"{d}/shared", 0o2777)

    def child():
        write_file(f"{d}/shared/file", b"x")
        os.mkdir(f"{d}/shared/sub")
        return {"file": owner_of(f"{d}/shared/file"), "sub": owner_of(f"{d}/shared/sub"),
                "sub_mode": mode_of(f"{d}/shared/sub")}

    return as_user(USER_A, GROUP_A, child)


def check_permission_denied(d):
    write_file(f"{d}/root-only", b"secret", 0o600)
    write_file(f"{d}/readable", b"public", 0o644)
    os.mkdir(f"{d}/closed", 0o755)

    def child():
        return {
            "read_private": err(lambda: read_file(f"{d}/root-only") and None),
            "read_public": err(lambda: read_file(f"{d}/readable").decode()),
            "write_public": err(lambda: os.close(os.open(f"{d}/readable", os.O_WRONLY))),
            "create_in_closed": err(lambda: write_file(f"{d}/closed/new", b"x")),
            "unlink_in_closed": err(os.unlink, f"{d}/readable"),
            "chmod_not_owner": err(os.chmod, f"{d}/readable", 0o666),
            "chown_not_root": err(os.chown, f"{d}/readable", USER_A, GROUP_A),
            "truncate_public": err(os.truncate, f"{d}/readable", 0),
        }

    return as_user(USER_A, GROUP_A, child)


def check_sticky_folder(d):
    os.mkdir(f"{d}/tmp")
    os.chmod(f"{d}/tmp", 0o1777)
    as_user(USER_A, GROUP_A, lambda: write_file(f"{d}/tmp/a-file", b"mine"))

    def intruder():
        return {"unlink": err(os.unlink, f"{d}/tmp/a-file"),
                "rename": err(os.rename, f"{d}/tmp/a-file", f"{d}/tmp/stolen"),
                "own_file": err(lambda: write_file(f"{d}/tmp/b-file", b"b"))}

    result = as_user(USER_B, USER_B, intruder)
    result["owner_unlink"] = as_user(USER_A, GROUP_A, lambda: err(os.unlink, f"{d}/tmp/a-file"))
    return result


def check_setuid_cleared_on_write(d):
    os.chmod(d, 0o777)
    as_user(USER_A, GROUP_A, lambda: write_file(f"{d}/prog", b"#!/bin/sh\n"))
    os.chmod(f"{d}/prog", 0o6777)
    before = mode_of(f"{d}/prog")

    def other():
        fd = os.open(f"{d}/prog", os.O_WRONLY | os.O_APPEND)
        os.write(fd, b"echo hi\n")
        os.close(fd)
        return mode_of(f"{d}/prog")

    after_write = as_user(USER_B, USER_B, other)
    os.chmod(f"{d}/prog", 0o6777)
    as_user(USER_A, GROUP_A, lambda: os.chown(f"{d}/prog", USER_A, GROUP_A))
    after_chown = mode_of(f"{d}/prog")
    return {"before": before, "after_write_by_other": after_write, "after_chown_by_owner": after_chown}


def check_timestamps(d):
    write_file(f"{d}/t", b"x")
    os.utime(f"{d}/t", (1_000_000_000, 1_100_000_000))
    st = os.stat(f"{d}/t")
    explicit = [st.st_atime_ns, st.st_mtime_ns]
    os.utime(f"{d}/t", ns=(1_000_000_000_123_456_789, 1_100_000_000_987_654_321))
    st = os.stat(f"{d}/t")
    nanos = [st.st_atime_ns, st.st_mtime_ns]
    before = os.stat(f"{d}/t")
    time.sleep(0.02)
    with open(f"{d}/t", "ab") as handle:
        handle.write(b"y")
    after_write = os.stat(f"{d}/t")
    os.rename(f"{d}/t", f"{d}/u")
    after_rename = os.stat(f"{d}/u")
    time.sleep(0.02)
    os.chmod(f"{d}/u", 0o600)
    after_chmod = os.stat(f"{d}/u")
    return {
        "explicit": explicit,
        "nanoseconds": nanos,
        "write_moves_mtime": after_write.st_mtime_ns > before.st_mtime_ns,
        "write_moves_ctime": after_write.st_ctime_ns > before.st_ctime_ns,
        "rename_keeps_mtime": after_rename.st_mtime_ns == after_write.st_mtime_ns,
        "chmod_moves_ctime": after_chmod.st_ctime_ns > after_rename.st_ctime_ns,
        "chmod_keeps_mtime": after_chmod.st_mtime_ns == after_rename.st_mtime_ns,
    }


def check_rename_edge_cases(d):
    write_file(f"{d}/a", b"a")
    write_file(f"{d}/b", b"b")
    os.mkdir(f"{d}/empty")
    os.mkdir(f"{d}/full")
    write_file(f"{d}/full/x", b"x")
    os.mkdir(f"{d}/other")
    return {
        "file_over_file": [err(os.rename, f"{d}/a", f"{d}/b"), read_file(f"{d}/b").decode(), os.path.exists(f"{d}/a")],
        "file_over_dir": err(os.rename, f"{d}/b", f"{d}/empty"),
        "dir_over_file": err(os.rename, f"{d}/empty", f"{d}/b"),
        "dir_over_nonempty": err(os.rename, f"{d}/other", f"{d}/full"),
        "dir_over_empty": [err(os.rename, f"{d}/full", f"{d}/empty"), sorted(os.listdir(f"{d}/empty"))],
        "into_itself": err(os.rename, f"{d}/empty", f"{d}/empty/inner"),
        "same_name": err(os.rename, f"{d}/b", f"{d}/b"),
        "missing_source": err(os.rename, f"{d}/nothing", f"{d}/c"),
        "hard_links_same_inode": [err(os.link, f"{d}/b", f"{d}/b2"), err(os.rename, f"{d}/b", f"{d}/b2"),
                                  os.path.exists(f"{d}/b"), os.stat(f"{d}/b2").st_nlink],
        "listing": sorted(os.listdir(d)),
    }


def check_unlink_open_file(d):
    fd = os.open(f"{d}/open", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"before")
    os.unlink(f"{d}/open")
    os.write(fd, b" after")
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, 100)
    st = os.fstat(fd)
    os.close(fd)
    return {"data": data.decode(), "nlink": st.st_nlink, "size": st.st_size, "exists": os.path.exists(f"{d}/open")}


def check_readdir_while_changing(d):
    for index in range(200):
        write_file(f"{d}/f{index:03d}", b"")
    seen = []
    with os.scandir(d) as entries:
        for number, entry in enumerate(entries):
            seen.append(entry.name)
            if number == 10:
                for index in range(100, 200):
                    os.unlink(f"{d}/f{index:03d}")
                for index in range(300, 320):
                    write_file(f"{d}/f{index:03d}", b"")
    kept = [f"f{index:03d}" for index in range(0, 100)]
    return {"no_duplicates": len(seen) == len(set(seen)),
            "every_kept_entry_seen_or_before": all(name in seen for name in kept[:10]),
            "final": sorted(os.listdir(d)) == sorted(kept + [f"f{index:03d}" for index in range(300, 320)])}


def check_open_flags(d):
    write_file(f"{d}/exists", b"0123456789")
    results = {"excl_existing": err(lambda: os.close(os.open(f"{d}/exists", os.O_WRONLY | os.O_CREAT | os.O_EXCL)))}
    results["excl_new"] = err(lambda: os.close(os.open(f"{d}/new", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)))
    fd = os.open(f"{d}/exists", os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    results["trunc_size"] = os.stat(f"{d}/exists").st_size
    write_file(f"{d}/log", b"start\n")
    first = os.open(f"{d}/log", os.O_WRONLY | os.O_APPEND)
    second = os.open(f"{d}/log", os.O_WRONLY | os.O_APPEND)
    os.lseek(first, 0, os.SEEK_SET)
    os.write(first, b"one\n")
    os.write(second, b"two\n")
    os.write(first, b"three\n")
    os.close(first)
    os.close(second)
    results["append"] = read_file(f"{d}/log").decode()
    results["directory_as_file"] = err(lambda: os.close(os.open(d, os.O_WRONLY)))
    results["nofollow_on_link"] = [err(os.symlink, "exists", f"{d}/ln"),
                                   err(lambda: os.close(os.open(f"{d}/ln", os.O_RDONLY | os.O_NOFOLLOW)))]
    results["missing"] = err(lambda: os.close(os.open(f"{d}/nope", os.O_RDONLY)))
    return results


def check_sparse_files_and_large_offsets(d):
    fd = os.open(f"{d}/sparse", os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b"head", 0)
    os.pwrite(fd, b"tail", 64 << 20)
    size = os.fstat(fd).st_size
    hole = os.pread(fd, 8, 1 << 20)
    try:
        data_after_hole = os.lseek(fd, 1 << 20, os.SEEK_DATA)
        hole_at = os.lseek(fd, 0, os.SEEK_HOLE)
    except OSError as error:
        data_after_hole = hole_at = errno.errorcode.get(error.errno)
    blocks_small = os.fstat(fd).st_blocks < 2048
    os.pwrite(fd, b"far", 1 << 40)
    far_size = os.fstat(fd).st_size
    far = os.pread(fd, 3, 1 << 40)
    os.ftruncate(fd, 10)
    shrunk = [os.fstat(fd).st_size, os.pread(fd, 20, 0).decode()]
    os.ftruncate(fd, 20)
    grown = os.pread(fd, 20, 0)
    os.close(fd)
    return {"size": size, "hole_reads_zeros": hole == b"\0" * 8, "seek_data": data_after_hole, "seek_hole": hole_at,
            "blocks_small": blocks_small, "far_size": far_size, "far": far.decode(), "shrunk": shrunk,
            "grown_zeros": grown == b"head" + b"\0" * 6 + b"\0" * 10}


def check_mmap(d):
    write_file(f"{d}/m", b"\0" * 8192)
    fd = os.open(f"{d}/m", os.O_RDWR)
    mapped = mmap.mmap(fd, 8192)
    mapped[100:105] = b"hello"
    mapped.flush()
    mapped.close()
    os.close(fd)
    return {"read_back": read_file(f"{d}/m")[100:105].decode()}


def check_xattrs(d):
    write_file(f"{d}/x", b"x")
    os.setxattr(f"{d}/x", "user.comment", b"kitchen mic")
    return {"get": os.getxattr(f"{d}/x", "user.comment").decode(),
            "missing": err(os.getxattr, f"{d}/x", "user.nothing"),
            "remove": err(os.removexattr, f"{d}/x", "user.comment")}


# --- every file type, every user ------------------------------------------------------------

LIBC = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


def libc_call(name, *args):
    """Calls a libc function; returns 'ok' or the errno name."""
    result = getattr(LIBC, name)(*args)
    if result < 0:
        code = ctypes.get_errno()
        return errno.errorcode.get(code, str(code))
    return "ok"


def renameat2(old, new, flags):
    return libc_call("renameat2", AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), ctypes.c_uint(flags))


def make_socket(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
    finally:
        sock.close()


def make_item(kind, path):
    """Creates one item of each kind the tests use."""
    if kind == "file":
        write_file(path, b"data")
    elif kind == "dir":
        os.mkdir(path)
    elif kind == "symlink":
        os.symlink("target-elsewhere", path)
    elif kind == "fifo":
        os.mkfifo(path, 0o644)
    elif kind == "socket":
        make_socket(path)
    elif kind == "chardev":
        os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
    elif kind == "blockdev":
        os.mknod(path, 0o600 | stat.S_IFBLK, os.makedev(7, 200))


KINDS = ["file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"]


def describe(path):
    st = os.lstat(path)
    result = {"type": stat.S_IFMT(st.st_mode), "mode": oct(stat.S_IMODE(st.st_mode)), "owner": [st.st_uid, st.st_gid],
              "nlink": st.st_nlink}
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        result["rdev"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
    return result


def check_every_file_type(d):
    results = {}
    for kind in KINDS:
        path = f"{d}/{kind}"
        results[kind] = {"make": err(make_item, kind, path)}
        results[kind]["stat"] = describe(path)
        results[kind]["chmod"] = err(os.chmod, path, 0o640) if kind != "symlink" else "skipped"
        results[kind]["chown"] = [err(os.chown, path, USER_A, GROUP_A, follow_symlinks=False), owner_of(path)]
        results[kind]["link"] = [err(os.link, path, f"{d}/{kind}.link", follow_symlinks=False)]
        results[kind]["rename"] = err(os.rename, path, f"{d}/{kind}.moved")
        results[kind]["after"] = describe(f"{d}/{kind}.moved")
        results[kind]["user_xattr"] = err(os.setxattr, f"{d}/{kind}.moved", "user.note", b"x", follow_symlinks=False)
        results[kind]["list_xattr"] = err(lambda: sorted(n for n in os.listxattr(f"{d}/{kind}.moved", follow_symlinks=False)
                                                         if not n.startswith("user.sync.")))
        results[kind]["utime"] = [err(os.utime, f"{d}/{kind}.moved", ns=(5_000_000_123, 6_000_000_456), follow_symlinks=False),
                                  os.lstat(f"{d}/{kind}.moved").st_mtime_ns]
    for kind in KINDS:
        results[kind]["unlink"] = err(os.rmdir if kind == "dir" else os.unlink, f"{d}/{kind}.moved")
    results["listing"] = sorted(os.listdir(d))
    return results


def check_special_files_carry_data(d):
    os.mkfifo(f"{d}/pipe")
    reader = os.open(f"{d}/pipe", os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(f"{d}/pipe", os.O_WRONLY)
    os.write(writer, b"through the fifo")
    got = os.read(reader, 100)
    os.close(writer)
    os.close(reader)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(f"{d}/sock")
    server.listen(1)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(f"{d}/sock")
    peer, _ = server.accept()
    client.sendall(b"through the socket")
    received = peer.recv(100)
    for sock in (client, peer, server):
        sock.close()
    os.mknod(f"{d}/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    fd = os.open(f"{d}/null", os.O_RDWR)
    wrote = os.write(fd, b"gone")
    read_back = os.read(fd, 10)
    os.close(fd)
    return {"fifo": got.decode(), "socket": received.decode(), "null_write": wrote, "null_read": read_back.decode()}


def check_archivers_with_special_files(d):
    os.mkdir(f"{d}/tree")
    write_file(f"{d}/tree/take.wav", b"RIFF")
    os.mkfifo(f"{d}/tree/fifo")
    make_socket(f"{d}/tree/sock")
    os.symlink("take.wav", f"{d}/tree/link")
    runs = {}
    runs["tar_c"] = subprocess.run(["tar", "-C", d, "-cf", f"{d}/tree.tar", "tree"], capture_output=True).returncode
    os.mkdir(f"{d}/untar")
    runs["tar_x"] = subprocess.run(["tar", "-C", f"{d}/untar", "-xf", f"{d}/tree.tar"], capture_output=True).returncode
    runs["cp_a"] = subprocess.run(["cp", "-a", f"{d}/tree", f"{d}/copy"], capture_output=True).returncode
    if shutil.which("rsync"):
        runs["rsync_a"] = subprocess.run(["rsync", "-a", f"{d}/tree/", f"{d}/synced/"], capture_output=True).returncode
    else:
        runs["rsync_a"] = 0
    types = {}
    for folder in ["untar/tree", "copy"]:
        types[folder] = {name: stat.S_IFMT(os.lstat(f"{d}/{folder}/{name}").st_mode) for name in sorted(os.listdir(f"{d}/{folder}"))}
    return {"exit": runs, "types": types}


def check_modes_are_kept_exactly(d):
    os.chmod(d, 0o777)
    old = os.umask(0)
    try:
        fd = os.open(f"{d}/g-w", os.O_WRONLY | os.O_CREAT, 0o620)
        os.close(fd)
        os.mkdir(f"{d}/shared-dir", 0o775)
        os.mkfifo(f"{d}/fifo", 0o662)
        os.mknod(f"{d}/node", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.umask(0o027)
        fd = os.open(f"{d}/masked", os.O_WRONLY | os.O_CREAT, 0o666)
        os.close(fd)
    finally:
        os.umask(old)

    def child():
        os.umask(0)
        fd = os.open(f"{d}/user-file", os.O_WRONLY | os.O_CREAT, 0o664)
        os.close(fd)
        os.mkdir(f"{d}/user-dir", 0o2775)
        return [mode_of(f"{d}/user-file"), mode_of(f"{d}/user-dir")]

    return {name: mode_of(f"{d}/{name}") for name in ["g-w", "shared-dir", "fifo", "node", "masked"]} | {
        "as_user": as_user(USER_A, GROUP_A, child)}


def check_setid_bits_cleared_for_other_writers(d):
    os.chmod(d, 0o777)
    results = {}
    for label, mode in [("suid", 0o4666), ("sgid_exec", 0o2676), ("both", 0o6777), ("sgid_no_exec", 0o2666)]:
        path = f"{d}/{label}"
        as_user(USER_A, GROUP_A, lambda: write_file(path, b"#!/bin/sh\n"))
        os.chmod(path, mode)

        def other_writes(path=path):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            os.write(fd, b"echo\n")
            os.close(fd)
            return mode_of(path)

        def other_truncates(path=path):
            result = err(os.truncate, path, 3)
            return [result, mode_of(path)]

        def other_opens_truncating(path=path):
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            os.close(fd)
            return mode_of(path)

        def other_writes_mapped(path=path):
            fd = os.open(path, os.O_RDWR)
            with mmap.mmap(fd, 4) as mapped:
                mapped[0:4] = b"echo"
                mapped.flush()
            os.close(fd)
            return mode_of(path)

        results[label] = {"write_by_other": as_user(USER_B, USER_B, other_writes)}
        os.chmod(path, mode)
        results[label]["truncate_by_other"] = as_user(USER_B, USER_B, other_truncates)
        os.chmod(path, mode)
        results[label]["trunc_open_by_other"] = as_user(USER_B, USER_B, other_opens_truncating)
        # A write that found nothing to clear, then the bits set again: the next write clears them.
        os.chmod(path, 0o666)
        as_user(USER_B, USER_B, other_writes)
        os.chmod(path, mode)
        results[label]["write_after_a_plain_write"] = as_user(USER_B, USER_B, other_writes)
        os.chmod(path, mode)
        results[label]["mapped_write_by_other"] = as_user(USER_B, USER_B, other_writes_mapped)
        # A writer allowed in through the group, on a file the world may not write.
        os.chown(path, USER_A, GROUP_A)
        os.chmod(path, mode & ~0o007)
        results[label]["write_by_group_member"] = as_user(USER_B, GROUP_A, other_writes)
        os.chmod(path, mode & ~0o007)
        results[label]["truncate_by_group_member"] = as_user(USER_B, GROUP_A, other_truncates)
        os.chmod(path, mode)
        results[label]["write_by_root"] = [err(lambda: write_file(path, b"root")), mode_of(path)]
        os.chmod(path, mode)
        results[label]["chown_by_root"] = [err(os.chown, path, USER_B, -1), mode_of(path)]
    return results


def check_existing_names_of_every_type(d):
    results = {}
    write_file(f"{d}/source", b"s")
    for kind in KINDS + ["dangling"]:
        path = f"{d}/{kind}"
        if kind == "dangling":
            os.symlink("nothing-here", path)
        else:
            make_item(kind, path)
        results[kind] = {
            "mkdir": err(os.mkdir, path),
            "symlink": err(os.symlink, "x", path),
            "excl": err(lambda: os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))),
            "mkfifo": err(os.mkfifo, path),
            "mknod": err(os.mknod, path, 0o644 | stat.S_IFCHR, os.makedev(1, 3)),
            "link_onto": err(os.link, f"{d}/source", path),
            "rmdir": err(os.rmdir, path),
        }
    write_file(f"{d}/plain", b"p")
    os.mkdir(f"{d}/full")
    write_file(f"{d}/full/x", b"x")
    os.mkdir(f"{d}/empty")
    results["rename_dir_over_nonempty"] = err(os.rename, f"{d}/empty", f"{d}/full")
    results["rmdir_nonempty"] = err(os.rmdir, f"{d}/full")
    results["rmdir_file"] = err(os.rmdir, f"{d}/plain")
    results["rmdir_dot"] = err(os.rmdir, f"{d}/empty/.")
    results["unlink_dir"] = err(os.unlink, f"{d}/empty")
    results["rename_file_over_dir"] = err(os.rename, f"{d}/plain", f"{d}/empty")
    results["rename_dir_over_file"] = err(os.rename, f"{d}/empty", f"{d}/plain")
    results["rename_to_dot"] = err(os.rename, f"{d}/plain", f"{d}/empty/..")
    return results


def check_sticky_and_plain_folders_with_two_users(d):
    results = {}
    for folder, mode in [("sticky", 0o1777), ("plain", 0o777), ("setgid", 0o2777)]:
        base = f"{d}/{folder}"
        os.mkdir(base)
        os.chown(base, 0, SHARED_GROUP)
        os.chmod(base, mode)

        def owner_makes(base=base):
            made = {}
            for kind in ["file", "dir", "symlink", "fifo", "socket"]:
                made[kind] = err(make_item, kind, f"{base}/a-{kind}")
            os.mkdir(f"{base}/a-full")
            write_file(f"{base}/a-full/inner", b"i")
            return made

        def intruder(base=base):
            tried = {}
            for kind in ["file", "dir", "symlink", "fifo", "socket"]:
                tried[kind] = {
                    "rename": err(os.rename, f"{base}/a-{kind}", f"{base}/b-{kind}"),
                    "unlink": err(os.rmdir if kind == "dir" else os.unlink, f"{base}/a-{kind}"),
                }
            tried["rmdir_full"] = err(os.rmdir, f"{base}/a-full")
            tried["own"] = err(make_item, "file", f"{base}/b-own")
            tried["own_fifo"] = err(make_item, "fifo", f"{base}/b-fifo-own")
            tried["own_owner"] = owner_of(f"{base}/b-own") if os.path.lexists(f"{base}/b-own") else None
            tried["replace_with_own"] = err(os.rename, f"{base}/b-own", f"{base}/a-file") if os.path.lexists(f"{base}/a-file") else "gone"
            return tried

        results[folder] = {"owner": as_user(USER_A, GROUP_A, owner_makes), "intruder": as_user(USER_B, USER_B, intruder),
                           "listing": sorted(os.listdir(base)),
                           "owners": {name: owner_of(f"{base}/{name}") for name in sorted(os.listdir(base))}}
    return results


def check_locks(d):
    write_file(f"{d}/session.lock", b"")
    fd = os.open(f"{d}/session.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)

    def contender():
        other = os.open(f"{d}/session.lock", os.O_RDWR)
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            flock = "ok"
        except OSError as error:
            flock = errno.errorcode.get(error.errno)
        try:
            fcntl.lockf(other, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
            posix = "ok"
        except OSError as error:
            posix = errno.errorcode.get(error.errno)
        os.close(other)
        return {"flock": flock, "posix": posix}

    os.chmod(f"{d}/session.lock", 0o666)
    fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
    contended = as_user(USER_A, GROUP_A, contender)
    fcntl.flock(fd, fcntl.LOCK_UN)
    fcntl.lockf(fd, fcntl.LOCK_UN, 10, 0)
    free = as_user(USER_A, GROUP_A, contender)
    os.close(fd)
    database = sqlite3.connect(f"{d}/project.sqlite")
    database.execute("CREATE TABLE takes (name TEXT)")
    database.executemany("INSERT INTO takes VALUES (?)", [("take %d" % n,) for n in range(50)])
    database.commit()
    second = sqlite3.connect(f"{d}/project.sqlite", timeout=0.1)
    database.execute("BEGIN EXCLUSIVE")
    try:
        second.execute("INSERT INTO takes VALUES ('blocked')")
        blocked = "not blocked"
    except sqlite3.OperationalError as error:
        blocked = str(error)
    database.rollback()
    count = second.execute("SELECT count(*) FROM takes").fetchone()[0]
    database.close()
    second.close()
    return {"while_held": contended, "after_release": free, "sqlite_exclusive": blocked, "sqlite_rows": count}


def check_fallocate_and_copy_range(d):
    fd = os.open(f"{d}/pre", os.O_RDWR | os.O_CREAT, 0o644)
    os.posix_fallocate(fd, 0, 1 << 20)
    size_after_allocate = os.fstat(fd).st_size
    keep = libc_call("fallocate", fd, FALLOC_FL_KEEP_SIZE, ctypes.c_long(0), ctypes.c_long(4 << 20))
    keep_size = os.fstat(fd).st_size
    keep_blocks = os.fstat(fd).st_blocks >= (4 << 20) // 512
    os.pwrite(fd, b"\xff" * 65536, 0)
    punch = libc_call("fallocate", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, ctypes.c_long(4096), ctypes.c_long(8192))
    punched = os.pread(fd, 16384, 0)
    os.close(fd)
    write_file(f"{d}/src", bytes(range(256)) * 1024)
    src = os.open(f"{d}/src", os.O_RDONLY)
    dst = os.open(f"{d}/dst", os.O_RDWR | os.O_CREAT, 0o644)
    copied = os.copy_file_range(src, dst, 100_000, 1000, 50)
    os.close(src)
    os.close(dst)
    data = read_file(f"{d}/dst")
    return {"allocate_size": size_after_allocate, "keep_size": [keep, keep_size, keep_blocks], "punch": punch,
            "punched_zeros": punched[4096:12288] == b"\0" * 8192, "punched_kept": punched[:4096] == b"\xff" * 4096,
            "copied": copied, "copy_matches": data[50:] == (bytes(range(256)) * 1024)[1000:101000], "copy_size": len(data)}


def check_tmpfile_direct_io_and_statfs(d):
    results = {}
    try:
        fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600)
        os.write(fd, b"anonymous")
        results["tmpfile"] = "ok"
        results["tmpfile_link"] = libc_call("linkat", fd, b"", AT_FDCWD, os.fsencode(f"{d}/named"), 0x1000)  # AT_EMPTY_PATH
        results["tmpfile_named"] = read_file(f"{d}/named").decode() if os.path.exists(f"{d}/named") else None
        os.close(fd)
    except OSError as error:
        results["tmpfile"] = errno.errorcode.get(error.errno)
    write_file(f"{d}/direct", b"")
    try:
        fd = os.open(f"{d}/direct", os.O_RDWR | os.O_DIRECT)
        buffer = mmap.mmap(-1, 4096)
        buffer.write(b"D" * 4096)
        results["direct_write"] = os.pwritev(fd, [buffer], 0)
        back = mmap.mmap(-1, 4096)
        results["direct_read"] = os.preadv(fd, [back], 0)
        results["direct_matches"] = back[:] == b"D" * 4096
        os.close(fd)
    except OSError as error:
        results["direct"] = errno.errorcode.get(error.errno)
    vfs = os.statvfs(d)
    results["statfs"] = {"bsize": vfs.f_bsize, "blocks": vfs.f_blocks, "namemax": vfs.f_namemax, "files": vfs.f_files}
    return results


def check_times_with_now_and_omit(d):
    write_file(f"{d}/t", b"x")
    os.utime(f"{d}/t", ns=(1_000_000_000_111_111_111, 1_100_000_000_222_222_222))

    class Timespec(ctypes.Structure):
        _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]

    def utimensat(atime, mtime, flags=0, path=f"{d}/t"):
        times = (Timespec * 2)(atime, mtime)
        return libc_call("utimensat", AT_FDCWD, os.fsencode(path), times, flags)

    results = {"omit_atime": utimensat(Timespec(0, UTIME_OMIT), Timespec(1_200_000_000, 333))}
    st = os.stat(f"{d}/t")
    results["after_omit"] = [st.st_atime_ns, st.st_mtime_ns]
    before = time.time_ns()
    results["now_mtime"] = utimensat(Timespec(0, UTIME_OMIT), Timespec(0, UTIME_NOW))
    st = os.stat(f"{d}/t")
    results["atime_kept"] = st.st_atime_ns == 1_000_000_000_111_111_111
    results["mtime_is_now"] = abs(st.st_mtime_ns - before) < 5_000_000_000
    os.symlink("t", f"{d}/l")
    results["symlink_own_times"] = utimensat(Timespec(7, 8), Timespec(9, 10), 0x100, f"{d}/l")
    results["symlink_mtime"] = os.lstat(f"{d}/l").st_mtime_ns
    results["target_untouched"] = os.stat(f"{d}/t").st_atime_ns == 1_000_000_000_111_111_111

    def not_owner():
        return {"now_both": utimensat(Timespec(0, UTIME_NOW), Timespec(0, UTIME_NOW)),
                "explicit": utimensat(Timespec(1, 0), Timespec(1, 0))}

    os.chmod(f"{d}/t", 0o666)
    results["not_owner"] = as_user(USER_A, GROUP_A, not_owner)
    return results


def check_long_names_and_deep_paths(d):
    results = {"name_255": err(write_file, f"{d}/" + "n" * 255, b"x"),
               "name_256": err(write_file, f"{d}/" + "n" * 256, b"x"),
               "listed_255": ("n" * 255) in os.listdir(d)}
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    depth = 0
    try:
        for depth in range(1, 101):
            os.mkdir("segment-" + "s" * 40, dir_fd=fd)
            next_fd = os.open("segment-" + "s" * 40, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        leaf = os.open("leaf.wav", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"deep")
        os.close(leaf)
        results["deep_leaf"] = "ok"
    except OSError as error:
        results["deep_leaf"] = errno.errorcode.get(error.errno)
    os.close(fd)
    results["depth"] = depth
    long_path = d + ("/segment-" + "s" * 40) * 100 + "/leaf.wav"
    results["long_path_open"] = err(lambda: read_file(long_path) and None)
    return results


def check_renameat2_flags(d):
    write_file(f"{d}/a", b"A")
    write_file(f"{d}/b", b"B")
    os.mkdir(f"{d}/dir")
    write_file(f"{d}/dir/inner", b"I")
    results = {"noreplace_existing": renameat2(f"{d}/a", f"{d}/b", RENAME_NOREPLACE),
               "noreplace_free": renameat2(f"{d}/a", f"{d}/c", RENAME_NOREPLACE),
               "exchange_files": renameat2(f"{d}/c", f"{d}/b", RENAME_EXCHANGE),
               "contents": [read_file(f"{d}/b").decode(), read_file(f"{d}/c").decode()],
               "exchange_file_dir": renameat2(f"{d}/b", f"{d}/dir", RENAME_EXCHANGE),
               "after": [read_file(f"{d}/dir").decode(), sorted(os.listdir(f"{d}/b"))],
               "exchange_missing": renameat2(f"{d}/c", f"{d}/nothing", RENAME_EXCHANGE),
               "both_flags": renameat2(f"{d}/c", f"{d}/b", RENAME_EXCHANGE | RENAME_NOREPLACE)}
    return results


CHECKS = [value for name, value in sorted(globals().items()) if name.startswith("check_")]


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: conformance.py DIR")
    base = sys.argv[1]
    results = {}
    for check in CHECKS:
        name = check.__name__[len("check_"):]
        folder = os.path.join(base, name)
        os.mkdir(folder)
        try:
            results[name] = check(folder)
        except Exception as error:  # a check that breaks is a result too
            results[name] = f"raised {error!r}"
    json.dump(results, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
