"""Rows 4, 5, 6 (one upload of a file of random bytes gives all three: time to visible, CPU per
GiB, peak memory) and row 7 (a burst of small files). Every object is checked: size and ETag."""

import os
import time

from . import aws
from .procs import RssSampler, cpu_seconds
from .s3 import BUCKET, Expected, md5_of, wait_visible
from .util import GIB, MIB, Broken, log


def make_random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n
        f.flush()
        os.fsync(f.fileno())
    return Expected(path)


def upload(ctx, tool, rep):
    """Rows 4-6. A filesystem tool: the file is copied into the mount like cp does (1 MiB reads and
    writes, no fsync) and its object HEADed until it answers with the right size. Upload time:
    close() returned -> visible (s3fs uploads inside close(): last write returned -> visible). CPU:
    the tool's process, utime + stime from before open to visible. Memory: VmHWM (reset first) and
    VmRSS sampled every 50 ms, whichever is higher. aws: `aws s3 cp` of the same file."""
    src, expected, size = ctx.upload_src, ctx.upload_expected, ctx.sizes.upload
    if tool == "aws":
        key = f"aws/upload-{rep}.bin"
        r = aws.cp(ctx.server.endpoint, src, key, timeout=ctx.sizes.upload_timeout)
        head = ctx.server.client.head_object(Bucket=BUCKET, Key=key)
        parts = expected.check(key, head["ContentLength"], head["ETag"].strip('"'))
        ctx.server.empty("aws/")
        return {"upload_s": round(r["wall_s"], 3), "cpu_s": round(r["cpu_s"], 3),
                "cpu_s_per_gib": round(r["cpu_s"] / (size / GIB), 3),
                "peak_rss_mib": round(r["max_rss_kib"] / 1024, 1), "parts": parts}
    dst = os.path.join(tool.dir, f"upload-{rep}.bin")
    sampler = RssSampler(tool.pid)
    sampler.start()
    try:
        cpu0 = cpu_seconds([tool.pid])
        t_open = time.perf_counter()
        with open(src, "rb") as fin:
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                while True:
                    block = fin.read(MIB)
                    if not block:
                        break
                    view = memoryview(block)
                    while view:
                        view = view[os.write(fd, view):]
                t_written = time.perf_counter()
            finally:
                os.close(fd)
        t_closed = time.perf_counter()
        key = tool.key(dst)
        visible = wait_visible(ctx.server, key, size, ctx.sizes.upload_timeout, should_stop=tool.check_alive)
        cpu1 = cpu_seconds([tool.pid])
    finally:
        peak = sampler.stop()
    head = ctx.server.client.head_object(Bucket=BUCKET, Key=key)
    parts = expected.check(key, head["ContentLength"], head["ETag"].strip('"'))
    uploads_in_close = tool.name == "s3fs"
    return {
        "upload_s": round(visible - (t_written if uploads_in_close else t_closed), 3),
        "close_to_visible_s": round(visible - t_closed, 3),
        "close_s": round(t_closed - t_written, 3),
        "copy_s": round(t_written - t_open, 3),
        "cpu_s": round(cpu1 - cpu0, 3),
        "cpu_s_per_gib": round((cpu1 - cpu0) / (size / GIB), 3),
        "peak_rss_mib": round(peak / 1024, 1),
        "vm_hwm_reset": sampler.hwm_reset,
        "parts": parts,
    }


def burst(ctx, tool, rep):
    """Row 7: N files of 256 KiB written one after the other; last close() returned -> every
    object in the bucket; then one listing checks every size and ETag. recsync is watched through
    user.sync.status (`synced` only once the server answered 200 for these bytes, which S3's
    read-after-write makes visible): a listing of hundreds of objects costs moto more than a
    hundred ms of CPU, and polled every 20 ms it slowed the uploads it timed. Tools with no
    status of their own (s3fs, rclone) are watched by ListObjectsV2 polled every 20 ms.
    aws: `aws s3 cp --recursive` of the same files, wall time."""
    names = [f"burst-{rep}-{i:04d}.bin" for i in range(len(ctx.burst_data))]
    server_cpu0 = cpu_seconds(ctx.server.pids)
    if tool == "aws":
        folder = os.path.join(ctx.work, "burst-src")
        os.makedirs(folder, exist_ok=True)
        for name, data in zip(names, ctx.burst_data):
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        r = aws.cp(ctx.server.endpoint, folder, "aws/", recursive=True, timeout=ctx.sizes.upload_timeout)
        server_cpu = cpu_seconds(ctx.server.pids) - server_cpu0
        check_listing(ctx, "aws/", names, require=True)
        ctx.server.empty("aws/")
        for name in names:
            os.unlink(os.path.join(folder, name))
        return {"seconds": round(r["wall_s"], 3), "files": len(names), "server_cpu_s": round(server_cpu, 3)}
    for name, data in zip(names, ctx.burst_data):
        with open(os.path.join(tool.dir, name), "wb") as f:
            f.write(data)
    t_closed = time.perf_counter()
    deadline = time.monotonic() + ctx.sizes.upload_timeout
    if tool.name.startswith("recsync"):
        seen = wait_synced(ctx, tool, names, deadline)
        watched = {"watched_by": "user.sync.status", "server_cpu_s": round(cpu_seconds(ctx.server.pids) - server_cpu0, 3)}
    else:
        seen, lists = wait_listed(ctx, tool, names, deadline)
        watched = {"watched_by": "listing", "lists": lists}
    check_listing(ctx, tool.prefix, names, require=True)
    seconds = seen - t_closed
    return {"seconds": round(seconds, 3), "minus_settle_s": round(seconds - tool.settle_delay, 3),
            "settle_delay_s": tool.settle_delay, "files": len(names), **watched}


def wait_listed(ctx, tool, names, deadline):
    """The moment a listing shows every object with its size (ListObjectsV2 every 20 ms), and
    how many listings that took."""
    lists = 0
    while True:
        start = time.perf_counter()
        lists += 1
        if check_listing(ctx, tool.prefix, names):
            return time.perf_counter(), lists
        tool.check_alive()
        if time.monotonic() > deadline:
            raise Broken(f"{tool.name}: not all {len(names)} files in the bucket {ctx.sizes.upload_timeout} s after the last close")
        pause = 0.02 - (time.perf_counter() - start)
        if pause > 0:
            time.sleep(pause)


def wait_synced(ctx, tool, names, deadline):
    """The moment every file says `synced`: walks the files in order, reading the next one's
    user.sync.status every 5 ms until it is synced (a few µs of daemon CPU a read)."""
    index = 0
    while index < len(names):
        try:
            status = os.getxattr(os.path.join(tool.dir, names[index]), "user.sync.status").decode()
        except OSError as error:
            raise Broken(f"{tool.name}: cannot read user.sync.status of {names[index]}: {error}")
        if status == "synced":
            index += 1
            continue
        if status == "failed":
            raise Broken(f"{tool.name}: {names[index]} failed to upload")
        tool.check_alive()
        if time.monotonic() > deadline:
            raise Broken(f"{tool.name}: only {index} of {len(names)} files synced {ctx.sizes.upload_timeout} s after the last close")
        time.sleep(0.005)
    return time.perf_counter()


def check_listing(ctx, prefix, names, require=False):
    """True when every name is in the bucket under `prefix` with its size; with `require`, also
    checks every ETag and raises Broken on anything missing or wrong."""
    want = dict(zip(names, ctx.burst_data))
    found = {}
    for key, (size, etag) in ctx.server.keys(prefix).items():
        name = key.rsplit("/", 1)[-1]
        if name in want:
            found[name] = (key, size, etag)
    complete = len(found) == len(want) and all(found[n][1] == len(want[n]) for n in want)
    if require:
        if not complete:
            raise Broken(f"only {len(found)} of {len(want)} files in the bucket under {prefix}")
        for name, (key, size, etag) in found.items():
            if etag != md5_of(want[name]):
                raise Broken(f"s3://{BUCKET}/{key}: ETag {etag} is not the file's MD5: the stored bytes differ")
    return complete


def prepare(ctx, groups):
    if "upload" in groups:
        ctx.upload_src = os.path.join(ctx.work, "upload-src.bin")
        log(f"creating the {ctx.sizes.upload // MIB} MiB source file of random bytes")
        ctx.upload_expected = make_random_file(ctx.upload_src, ctx.sizes.upload)
        ctx.server.grow_store(ctx.sizes.upload)
    if "burst" in groups:
        ctx.burst_data = [os.urandom(ctx.sizes.burst_size) for _ in range(ctx.sizes.burst_files)]
