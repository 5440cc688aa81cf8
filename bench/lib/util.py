"""Small helpers every module uses: logging, the error that makes a run invalid, statistics,
the mount table, running commands."""

import math
import os
import statistics
import subprocess
import sys
import time

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Broken(Exception):
    """Something that should have worked did not (a server, a mount, a tool, an upload): the run
    is not a valid measurement and the harness exits non-zero."""


def percentile(values, pct):
    """Nearest-rank percentile: p99 of 200 samples is the second largest."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def size_label(size):
    if size % GIB == 0:
        return f"{size // GIB} GiB"
    if size % MIB == 0:
        return f"{size // MIB} MiB"
    return f"{size // KIB} KiB"


def count_label(n):
    return f"{n:,}"


def _unescape_mountinfo(field):
    # /proc/self/mountinfo escapes space, tab, newline and backslash as octal.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and len(field[i + 1:i + 4]) == 3 and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts():
    """(mount point, filesystem type) of every mount, in the order of /proc/self/mountinfo."""
    result = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            result.append((_unescape_mountinfo(fields[4]), fields[sep + 1]))
    return result


def is_mounted(path):
    path = os.path.realpath(path)
    return any(point == path for point, _ in mounts())


def fs_type(path):
    """Filesystem type of the mount that holds `path`."""
    path = os.path.realpath(path)
    best, best_type = "", "?"
    for point, kind in mounts():
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, kind
    return best_type


def run(cmd, timeout=120, check=True, env=None, cwd=None):
    """Runs a command, capturing its output; raises Broken with its last words when it fails."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise Broken(f"{cmd[0]} did not finish within {timeout} s") from None
    except FileNotFoundError:
        raise Broken(f"{cmd[0]} not found") from None
    if check and done.returncode != 0:
        text = (done.stderr or done.stdout).strip()[-600:]
        raise Broken(f"{' '.join(map(str, cmd[:3]))} exited with {done.returncode}: {text}")
    return done


def first_line(cmd):
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]
    except (OSError, subprocess.TimeoutExpired):
        return "not available"


def remove_tree_contents(folder):
    """Deletes everything inside `folder` (not the folder), with the fewest system calls."""
    if not os.path.isdir(folder):
        return
    subprocess.run(["find", folder, "-mindepth", "1", "-delete"], check=False)


def wait_for(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise Broken(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
