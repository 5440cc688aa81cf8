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

import errno
import json
import mmap
import os
import stat
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


def check_special_files(d):
    return {"fifo": err(os.mkfifo, f"{d}/fifo"),
            "symlink_target": [err(os.symlink, "../elsewhere", f"{d}/sl"), os.readlink(f"{d}/sl")],
            "symlink_mode_is_link": stat.S_ISLNK(os.lstat(f"{d}/sl").st_mode)}


def check_xattrs(d):
    write_file(f"{d}/x", b"x")
    os.setxattr(f"{d}/x", "user.comment", b"kitchen mic")
    return {"get": os.getxattr(f"{d}/x", "user.comment").decode(),
            "missing": err(os.getxattr, f"{d}/x", "user.nothing"),
            "remove": err(os.removexattr, f"{d}/x", "user.comment")}


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
