"""Rows 1, 2, 3 and 8: what writing into each folder costs. Row 3 also runs with the S3 server
stopped (SIGSTOP), where close() must not wait for the network."""

import os
import subprocess
import sys
import time

from .util import Broken, log, percentile


def seq_write(ctx, tool, block):
    """Rows 1 and 2: `dd if=/dev/zero bs=BLOCK conv=fsync`, timed from before open to after
    close (fsync and whatever the tool does at close included)."""
    size = ctx.sizes.seq
    path = os.path.join(tool.dir, f"seq-{block}.bin")
    cmd = ["dd", "if=/dev/zero", f"of={path}", f"bs={block}", f"count={size // block}", "conv=fsync", "status=none"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=ctx.sizes.write_timeout)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise Broken(f"dd into {tool.name} failed: {done.stderr.strip()[-300:]}")
    if os.stat(path).st_size != size:
        raise Broken(f"{tool.name}: dd wrote {size} bytes, the file has {os.stat(path).st_size}")
    return {"seconds": round(seconds, 3), "mb_s": round(size / seconds / 1e6, 1)}


def seq_1m(ctx, tool, rep):
    return seq_write(ctx, tool, 1024 * 1024)


def seq_4k(ctx, tool, rep):
    return seq_write(ctx, tool, 4096)


# Writes N files of SIZE bytes, one after the other, timing only close(); one line per close, so
# that the parent knows how far it got when a close hangs.
CLOSE_WORKER = r"""
import os, sys, time
folder, n, size, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = os.urandom(size)
with open(out, "w", buffering=1) as log:
    for i in range(n):
        fd = os.open(os.path.join(folder, f"close-{i:05d}.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        if os.write(fd, data) != size:
            sys.exit("short write")
        t0 = time.perf_counter_ns()
        os.close(fd)
        log.write(f"{time.perf_counter_ns() - t0}\n")
"""


def close_run(ctx, tool, label):
    out = os.path.join(ctx.work, f"close-{tool.name}-{label}.txt")
    n, size = ctx.sizes.close_files, ctx.sizes.close_size
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", CLOSE_WORKER, tool.dir, str(n), str(size), out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    hung = False
    try:
        proc.wait(timeout=ctx.sizes.hang_timeout)
    except subprocess.TimeoutExpired:
        hung = True
    elapsed = time.monotonic() - t0
    ctx.server.resume()  # a close that waits for the server can finish now
    if hung:
        proc.kill()
        proc.wait(timeout=120)
    elif proc.returncode != 0:
        raise Broken(f"writing {n} files into {tool.name} failed: {proc.stderr.read().decode()[-300:]}")
    proc.stderr.close()
    with open(out) as f:
        samples = [int(line) / 1e6 for line in f if line.strip()]
    os.unlink(out)
    result = {"files": n, "done": len(samples), "hung": hung, "elapsed_s": round(elapsed, 2)}
    if samples:
        result.update({"p50_ms": round(percentile(samples, 50), 3), "p99_ms": round(percentile(samples, 99), 3),
                       "max_ms": round(max(samples), 3)})
    if hung:
        log(f"{tool.name}: close() hung with the server stopped: {len(samples)} of {n} closes in {elapsed:.0f} s")
    return result


def close_latency(ctx, tool, rep):
    """Row 3: close() of N files of 64 KiB, server up, then server stopped."""
    up = close_run(ctx, tool, "up")
    ctx.clean(tool)
    ctx.wait_quiet()
    ctx.server.pause()
    try:
        down = close_run(ctx, tool, "down")
    finally:
        ctx.server.resume()
    return {"up": up, "down": down}


def creates(ctx, tool, rep):
    """Row 8: N empty files created (open O_CREAT + close) in one folder; files per second. A
    tool that takes longer than `create_cap` seconds is stopped there and its rate taken."""
    folder = tool.dir
    n, cap = ctx.sizes.creates, ctx.sizes.create_cap
    t0 = time.perf_counter()
    done = 0
    for i in range(n):
        os.close(os.open(os.path.join(folder, f"f{i:06d}"), os.O_WRONLY | os.O_CREAT, 0o644))
        done += 1
        if done % 100 == 0 and time.perf_counter() - t0 > cap:
            break
    seconds = time.perf_counter() - t0
    if done < n:
        log(f"{tool.name}: stopped after {done} of {n} files ({seconds:.0f} s)")
    return {"files": done, "seconds": round(seconds, 3), "files_s": round(done / seconds, 1), "capped": done < n}
