"""recsync only (both variants): row 6's second figure (memory with many files queued), row 9
(mounting over a folder that already holds many files) and row 10 (what a status attribute costs
the daemon)."""

import json
import os
import time

from .procs import RssSampler, cpu_seconds
from .util import Broken, log, remove_tree_contents


def queued_count(tool):
    summary = json.loads(os.getxattr(tool.dir, "user.sync.summary"))
    counts = summary.get("counts", {})
    return sum(counts.get(s, 0) for s in ("pending", "syncing", "synced", "failed"))


def queued(ctx, tool, rep):
    """Row 6, second figure: N files of 16 bytes created in the mount while the server is
    stopped (SIGSTOP), so they all stay queued; peak RSS (VmHWM, reset first, and sampled VmRSS)
    from the first create until 3 s after the last."""
    folder = os.path.join(tool.dir, "queued")
    os.mkdir(folder)
    n = ctx.sizes.queued
    ctx.server.pause()
    sampler = RssSampler(tool.pid, interval=0.1)
    sampler.start()
    try:
        t0 = time.perf_counter()
        for i in range(n):
            fd = os.open(os.path.join(folder, f"q{i:06d}.bin"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, b"queued recording")
            os.close(fd)
        created = time.perf_counter() - t0
        time.sleep(3)
        in_queue = queued_count(tool)
    finally:
        peak = sampler.stop()
        ctx.server.resume()
    if in_queue < n:
        raise Broken(f"{tool.name}: only {in_queue} of {n} files queued")
    # Unmounted and removed below the mount: deleting N files through it would take as long
    # as creating them; the next mount has a new state folder.
    tool.unmount()
    remove_tree_contents(tool.dir)
    ctx.server.empty(tool.prefix)
    tool.mount(tool.variant)
    return {"files": n, "create_s": round(created, 2), "peak_rss_mib": round(peak / 1024, 1),
            "vm_hwm_reset": sampler.hwm_reset, "queued": in_queue}


def scan(ctx, tool, rep):
    """Row 9: N empty files made in the folder while it is not mounted, then `recsync mount`
    (a new state folder: none of them is known) timed until the start-up scan is done: the log
    says `scan finished` and the mount's summary (`user.sync.summary`) counts all N files."""
    folder = os.path.join(tool.dir, "scan")
    os.mkdir(folder)
    n = ctx.sizes.scan
    for i in range(n):
        os.close(os.open(os.path.join(folder, f"s{i:06d}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    os.sync()
    ctx.wait_quiet()
    tool.mount("default")
    t0 = tool.mount_started
    finished = counted = None
    deadline = time.monotonic() + ctx.sizes.scan_timeout
    # The log is polled while the scan runs; the mount's summary, a query over every record
    # that takes the queue's lock, only once the log says done (polled every 20 ms it slowed
    # the very scan it timed).
    while finished is None or counted is None:
        now = time.perf_counter()
        if finished is None and scan_logged(tool):
            finished = now
        if finished is not None and counted is None and queued_count(tool) >= n:
            counted = now
        tool.check_alive()
        if time.monotonic() > deadline:
            raise Broken(f"{tool.name}: the start-up scan of {n} files did not finish within {ctx.sizes.scan_timeout} s")
        time.sleep(0.02)
    result = {"files": n, "mount_returned_s": round(tool.mount_returned - t0, 3),
              "scan_logged_s": round(finished - t0, 3), "all_queued_s": round(counted - t0, 3),
              "scan_done_s": round(max(finished, counted) - t0, 3)}
    tool.unmount()
    remove_tree_contents(tool.dir)
    ctx.server.empty(tool.prefix)
    return result


def scan_logged(tool):
    try:
        with open(tool.log_path(), errors="replace") as f:
            return any("scan finished" in line for line in f)
    except FileNotFoundError:
        return False


def getxattr(ctx, tool, rep):
    """Row 10: the daemon's utime + stime across N getxattr(user.sync.status) calls on one synced
    file, divided by N; and the caller's wall time per call."""
    path = os.path.join(tool.dir, "status.bin")
    with open(path, "wb") as f:
        f.write(b"x" * 4096)
    deadline = time.monotonic() + 60
    while os.getxattr(path, "user.sync.status") != b"synced":
        if time.monotonic() > deadline:
            raise Broken(f"{tool.name}: status.bin is not synced 60 s after close "
                         f"({os.getxattr(path, 'user.sync.status').decode()})")
        time.sleep(0.05)
    ctx.wait_quiet()
    n = ctx.sizes.getxattr
    cpu0 = cpu_seconds([tool.pid])
    t0 = time.perf_counter()
    for _ in range(n):
        os.getxattr(path, "user.sync.status")
    wall = time.perf_counter() - t0
    cpu = cpu_seconds([tool.pid]) - cpu0
    log(f"getxattr: {n} calls, daemon {cpu:.2f} s CPU, caller {wall:.2f} s")
    return {"calls": n, "daemon_us": round(cpu / n * 1e6, 2), "caller_us": round(wall / n * 1e6, 2)}
