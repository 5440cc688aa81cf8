#!/usr/bin/env python3
"""Measurements for bench/run.sh.

    bench.py create-bucket --endpoint URL --bucket NAME
    bench.py run --mount DIR --native DIR --endpoint URL --bucket NAME [...]

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. `run` prints
a table and writes the results as JSON; it exits 1 when something broke
(recsync stopped answering, an upload never became visible, a file ended up
`failed`), 0 otherwise, whether or not the targets were met.
"""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

MIB = 1024 * 1024
GIB = 1024 * MIB

TARGETS = {
    "seq_1m_ratio": 0.5,  # mount/native throughput, at least
    "close_p99_ms": 5.0,  # close() on the mount, p99 below
    "visible_p50_ms": 300.0,  # close() returned -> HEAD shows the object, p50 below
}


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Broken(Exception):
    """Something that should have worked did not: the run is not a valid measurement."""


# ---------------------------------------------------------------- statistics


def percentile(values, pct):
    """Nearest-rank percentile (p99 of 30 samples is the maximum)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples_ns):
    ms = [s / 1e6 for s in samples_ns]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


# ---------------------------------------------------------------- S3


def s3_client(endpoint):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(
            s3={"addressing_style": "path"},
            # A 404 must come back at once, not after retries with backoff.
            retries={"total_max_attempts": 1},
            connect_timeout=5,
            read_timeout=30,
            tcp_keepalive=True,
        ),
    )


def head_size(client, bucket, key):
    """Size of the object, or None if it does not exist (yet)."""
    from botocore.exceptions import ClientError

    try:
        return client.head_object(Bucket=bucket, Key=key)["ContentLength"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


# ---------------------------------------------------------------- processes


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def wait_quiet(pids, window=0.5, max_ticks=2, timeout=300):
    """Waits until recsync and the S3 server use (almost) no CPU, so that a
    measurement does not compete with the upload of the previous one."""
    hz = os.sysconf("SC_CLK_TCK")
    start = time.monotonic()
    calm = 0
    last = cpu_ticks(pids)
    while time.monotonic() - start < timeout:
        time.sleep(window)
        now = cpu_ticks(pids)
        busy = now - last
        last = now
        calm = calm + 1 if busy * (100 / hz) <= max_ticks else 0
        if calm >= 2:
            return round(time.monotonic() - start, 2)
    log(f"background work did not settle within {timeout}s; measuring anyway")
    return None


# ---------------------------------------------------------------- files


def status(path):
    return os.getxattr(path, "user.sync.status").decode()


def s3key(path):
    return os.getxattr(path, "user.sync.s3key").decode()


def upload_error(path):
    try:
        return os.getxattr(path, "user.sync.error").decode()
    except OSError:
        return ""


def wait_status(paths, want=("synced",), timeout=300, poll=0.05):
    """Waits until every file reaches one of `want`; raises Broken on `failed`, on any upload
    error (against a local server every attempt should succeed) or on timeout."""
    deadline = time.monotonic() + timeout
    remaining = list(paths)
    while remaining:
        still = []
        for path in remaining:
            st = status(path)
            if st == "failed":
                try:
                    error = os.getxattr(path, "user.sync.error").decode()
                except OSError:
                    error = "?"
                raise Broken(f"{os.path.basename(path)} is 'failed': {error}")
            if st not in want:
                error = upload_error(path)
                if error:
                    raise Broken(f"{os.path.basename(path)} is '{st}' after an upload error: {error}")
                still.append(path)
        remaining = still
        if remaining:
            if time.monotonic() > deadline:
                counts = {}
                for path in remaining:
                    counts[status(path)] = counts.get(status(path), 0) + 1
                raise Broken(f"{len(remaining)} files not {'/'.join(want)} after {timeout}s: {counts}")
            time.sleep(poll)


def remove_all(folder):
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))


# ---------------------------------------------------------------- measurements


def seq_write(path, block, count):
    """Writes block*count bytes with dd (fsync before close); returns seconds,
    from before open to after close."""
    cmd = ["dd", "if=/dev/zero", f"of={path}", f"bs={block}", f"count={count}", "conv=fsync", "status=none"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    elapsed = time.perf_counter() - t0
    size = os.stat(path).st_size
    if size != block * count:
        raise Broken(f"{path}: wrote {block * count} bytes, file has {size}")
    return elapsed


def bench_seq(args, label, block, quiet_pids):
    count = GIB // block
    runs = {"mount": [], "native": []}
    for rep in range(args.reps):
        order = ("mount", "native") if rep % 2 == 0 else ("native", "mount")
        for side in order:
            folder = args.mount if side == "mount" else args.native
            path = os.path.join(folder, f"seq-{label}-{rep}.bin")
            waited = wait_quiet(quiet_pids)
            seconds = seq_write(path, block, count)
            # Deleting the file right away also cancels its upload.
            os.unlink(path)
            mbps = GIB / seconds / 1e6
            runs[side].append(round(mbps, 1))
            log(f"seq {label} rep {rep + 1}/{args.reps} {side:6s}: {seconds:6.2f} s  {mbps:8.1f} MB/s"
                f"  (waited {waited}s for quiet)")
    mount = statistics.median(runs["mount"])
    native = statistics.median(runs["native"])
    return {
        "block_bytes": block,
        "total_bytes": GIB,
        "reps": args.reps,
        "mount_mb_s": runs["mount"],
        "native_mb_s": runs["native"],
        "mount_median_mb_s": round(mount, 1),
        "native_median_mb_s": round(native, 1),
        "ratio": round(mount / native, 3),
        # Fastest run of each side: less sensitive to the disk's bad moments.
        "best_ratio": round(max(runs["mount"]) / max(runs["native"]), 3),
    }


def close_latencies(folder, prefix, n, size):
    data = os.urandom(size)
    samples = []
    paths = []
    for i in range(n):
        path = os.path.join(folder, f"{prefix}-{i:04d}.bin")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        written = os.write(fd, data)
        if written != size:
            raise Broken(f"short write to {path}: {written}")
        t0 = time.perf_counter_ns()
        os.close(fd)
        samples.append(time.perf_counter_ns() - t0)
        paths.append(path)
    return samples, paths


def bench_close(args, quiet_pids):
    result = {"files": args.close_files, "file_bytes": args.close_size}
    for side, folder in (("native", args.native), ("mount", args.mount)):
        wait_quiet(quiet_pids)
        samples, paths = close_latencies(folder, f"close-{side}", args.close_files, args.close_size)
        result[side] = summary_ms(samples)
        log(f"close() {side:6s}: p50 {result[side]['p50_ms']:.3f} ms  p99 {result[side]['p99_ms']:.3f} ms"
            f"  max {result[side]['max_ms']:.3f} ms")
        if side == "mount":
            t0 = time.monotonic()
            try:
                wait_status(paths)
                result["mount_drain_s"] = round(time.monotonic() - t0, 2)
                log(f"all {len(paths)} small files synced {result['mount_drain_s']} s after the last close")
            except Broken as error:
                # The latencies are still valid; the run as a whole is not.
                result["problem"] = str(error)
        for path in paths:
            os.unlink(path)
    return result


def bench_visible(args, client, quiet_pids):
    data = os.urandom(args.visible_size)
    interval = args.poll_ms / 1000
    samples, lower, polls, poll_gaps, rtts = [], [], [], [], []
    total = args.visible_files + 1  # the first one warms up curl's connection and is not counted
    for i in range(total):
        wait_quiet(quiet_pids)
        path = os.path.join(args.mount, f"visible-{i:03d}.bin")
        with open(path, "wb") as f:
            f.write(data)
        closed = time.perf_counter_ns()  # close() returned
        key = s3key(path)
        deadline = time.perf_counter() + args.visible_timeout
        n = 0
        last_start = None
        last_miss_ns = closed  # the object was not there yet at this time (at the latest)
        while True:
            start = time.perf_counter()
            start_ns = time.perf_counter_ns()
            if last_start is not None:
                poll_gaps.append(start - last_start)
            last_start = start
            n += 1
            size = head_size(client, args.bucket, key)
            rtts.append(time.perf_counter() - start)
            if size == args.visible_size:
                seen = time.perf_counter_ns()
                break
            last_miss_ns = start_ns
            if n % 250 == 0 and upload_error(path):
                raise Broken(f"{key} not visible: upload error: {upload_error(path)}")
            if start > deadline:
                raise Broken(f"{key} not visible in S3 {args.visible_timeout}s after close "
                             f"(status {status(path)}, HEAD size {size})")
            pause = interval - (time.perf_counter() - start)
            if pause > 0:
                time.sleep(pause)
        wait_status([path])
        if i == 0:
            log(f"visible: warm-up file took {(seen - closed) / 1e6:.1f} ms (not counted)")
            continue
        samples.append(seen - closed)
        lower.append(last_miss_ns - closed)
        polls.append(n)
    result = summary_ms(samples)
    result.update({
        "file_bytes": args.visible_size,
        "warmup_files": 1,
        "poll_target_ms": args.poll_ms,
        "lower_bound_p50_ms": round(percentile([x / 1e6 for x in lower], 50), 3),
        "lower_bound_p99_ms": round(percentile([x / 1e6 for x in lower], 99), 3),
        "head_rtt_median_ms": round(statistics.median(rtts) * 1000, 2),
        "poll_gap_median_ms": round(statistics.median(poll_gaps) * 1000, 2) if poll_gaps else None,
        "polls_median": statistics.median(polls),
        "samples_ms": [round(s / 1e6, 2) for s in samples],
    })
    log(f"visible: p50 {result['p50_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms"
        f"  (lower bound p50 {result['lower_bound_p50_ms']:.1f} ms; HEAD takes {result['head_rtt_median_ms']} ms)")
    for name in os.listdir(args.mount):
        if name.startswith("visible-"):
            os.unlink(os.path.join(args.mount, name))
    return result


# ---------------------------------------------------------------- machine facts


def fs_type(path):
    """Filesystem type of the mount that holds `path`, from /proc/self/mountinfo."""
    path = os.path.realpath(path)
    best, best_type = "", "?"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            point = fields[4].encode().decode("unicode_escape")
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, best_type = point, fields[sep + 1]
    return best_type


def machine_facts(work):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    st = os.statvfs(work)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "work_dir_fs": fs_type(work),
        "work_dir_free_gib": round(st.f_bavail * st.f_frsize / GIB, 1),
        "loadavg_start": list(os.getloadavg()),
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------- report


def args_poll_note(vis):
    gap = vis["poll_gap_median_ms"]
    return f"every {vis['poll_target_ms']:g} ms or back to back when a HEAD is slower" + (
        f" (median gap {gap} ms)" if gap else "")


def verdict(ok):
    return "PASS" if ok else "MISS"


def print_report(res):
    m = res["machine"]
    print()
    print(f"recsync benchmark  {res['started_at']}  (recsync {res.get('recsync_version', '?')})")
    print(f"machine: nproc {m['nproc']}, {m['cpu']}, {m['memory_gib']} GiB RAM, kernel {m['kernel']}")
    print(f"work dir: {m['work_dir_fs']} (mount and native folder on the same filesystem), "
          f"load avg start {m['loadavg_start'][0]:.2f} end {m['loadavg_end'][0]:.2f}")
    print(f"S3 server: {res['s3_server']}")
    print()
    rows = []
    header = ("measurement", "recsync mount", "native", "mount/native", "target", "result")
    s1, s4, cl, vis = res.get("seq_1m"), res.get("seq_4k"), res.get("close"), res.get("visible")
    if s1:
        rows.append((f"seq write 1 GiB, 1 MiB blocks (median of {s1['reps']})",
                     f"{s1['mount_median_mb_s']:.0f} MB/s", f"{s1['native_median_mb_s']:.0f} MB/s",
                     f"{s1['ratio']:.2f}x", f">= {TARGETS['seq_1m_ratio']}x",
                     verdict(s1["ratio"] >= TARGETS["seq_1m_ratio"])))
    if s4:
        rows.append((f"seq write 1 GiB, 4 KiB blocks (median of {s4['reps']})",
                     f"{s4['mount_median_mb_s']:.0f} MB/s", f"{s4['native_median_mb_s']:.0f} MB/s",
                     f"{s4['ratio']:.2f}x", "-", "report"))
    if cl:
        kib = cl["file_bytes"] // 1024
        rows.append((f"close() p50, {cl['files']} files of {kib} KiB", f"{cl['mount']['p50_ms']:.2f} ms",
                     f"{cl['native']['p50_ms']:.3f} ms", "", "-", "report"))
        rows.append((f"close() p99, {cl['files']} files of {kib} KiB", f"{cl['mount']['p99_ms']:.2f} ms",
                     f"{cl['native']['p99_ms']:.3f} ms", "", f"< {TARGETS['close_p99_ms']:g} ms",
                     verdict(cl["mount"]["p99_ms"] < TARGETS["close_p99_ms"])))
    if vis:
        mib = vis["file_bytes"] // MIB
        rows.append((f"close -> visible in S3 p50, {vis['n']} x {mib} MiB", f"{vis['p50_ms']:.1f} ms", "", "",
                     f"< {TARGETS['visible_p50_ms']:g} ms", verdict(vis["p50_ms"] < TARGETS["visible_p50_ms"])))
        rows.append((f"close -> visible in S3 p99, {vis['n']} x {mib} MiB", f"{vis['p99_ms']:.1f} ms", "", "",
                     "-", "report"))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print(line)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print(line)
    print()
    notes = []
    if s1:
        notes.append(f"1 MiB runs, MB/s (10^6 bytes/s), mount {s1['mount_mb_s']} native {s1['native_mb_s']}; "
                     f"fastest mount / fastest native {s1['best_ratio']:.2f}x")
    if s4:
        notes.append(f"4 KiB runs, MB/s, mount {s4['mount_mb_s']} native {s4['native_mb_s']}; "
                     f"fastest mount / fastest native {s4['best_ratio']:.2f}x")
    if cl:
        notes.append(f"close() max: mount {cl['mount']['max_ms']:.2f} ms, native {cl['native']['max_ms']:.3f} ms; "
                     + (f"the {cl['files']} small files were all synced {cl['mount_drain_s']} s after the last close"
                        if "mount_drain_s" in cl else "the small files did NOT all sync"))
    if vis:
        notes.append(f"close->visible is an upper bound (close() returned -> end of the first HEAD that saw the "
                     f"object); lower bound (start of the last HEAD that missed it, or close) p50 "
                     f"{vis['lower_bound_p50_ms']:.1f} ms p99 {vis['lower_bound_p99_ms']:.1f} ms; one HEAD to moto "
                     f"takes {vis['head_rtt_median_ms']} ms (median), polls start {args_poll_note(vis)}, "
                     f"{vis['polls_median']:g} HEADs per file (median)")
        notes.append("close->visible is measured first, on a fresh mount with an idle uploader, one file at a "
                     "time, after 1 warm-up file (not counted)")
    notes.append("each timed run starts once recsync and the S3 server have been idle for 1 s; "
                 "mount and native runs alternate; big files are deleted right after each run, "
                 "which cancels their upload; page cache is not dropped")
    notes.append("p99 is nearest-rank: for 30 samples it is the maximum")
    for n in notes:
        print(f"  * {n}")
    if res.get("problems"):
        print()
        for p in res["problems"]:
            print(f"  ! {p}")
    print()


# ---------------------------------------------------------------- main


def cmd_create_bucket(args):
    client = s3_client(args.endpoint)
    client.create_bucket(Bucket=args.bucket)
    client.head_bucket(Bucket=args.bucket)


def cmd_run(args):
    quiet_pids = [p for p in (args.recsync_pid, args.server_pid) if p]
    res = {
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "recsync_version": args.recsync_version,
        "s3_server": args.server_desc,
        "machine": machine_facts(args.native),
        "targets": TARGETS,
        "problems": [],
    }
    client = s3_client(args.endpoint)
    head_size(client, args.bucket, "bench-warmup-does-not-exist")  # opens the connection
    steps = [
        ("visible", lambda: bench_visible(args, client, quiet_pids)),
        ("close", lambda: bench_close(args, quiet_pids)),
        ("seq_1m", lambda: bench_seq(args, "1m", MIB, quiet_pids)),
        ("seq_4k", lambda: bench_seq(args, "4k", 4096, quiet_pids)),
    ]
    only = set(args.only.split(",")) if args.only else None
    exit_code = 0
    for name, step in steps:
        if only and name not in only:
            continue
        log(f"--- {name}")
        try:
            res[name] = step()
            if "problem" in res[name]:
                res["problems"].append(f"{name}: {res[name]['problem']}")
                log(f"{name}: {res[name]['problem']}")
                exit_code = 1
        except (Broken, OSError, subprocess.CalledProcessError) as error:
            res["problems"].append(f"{name}: {error}")
            log(f"{name} failed: {error}")
            exit_code = 1
            if args.recsync_pid and not alive(args.recsync_pid):
                res["problems"].append(f"the recsync process ({args.recsync_pid}) is gone")
                break
    if args.recsync_pid and not alive(args.recsync_pid) and exit_code == 0:
        res["problems"].append(f"the recsync process ({args.recsync_pid}) is gone")
        exit_code = 1
    res["machine"]["loadavg_end"] = list(os.getloadavg())
    res["finished_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    try:
        listing = client.list_objects_v2(Bucket=args.bucket)
        res["bucket_objects_at_end"] = listing.get("KeyCount", 0)
        res["bucket_bytes_at_end"] = sum(o["Size"] for o in listing.get("Contents", []))
    except Exception as error:  # noqa: BLE001 - only informative
        res["problems"].append(f"could not list the bucket at the end: {error}")
    res["exit_code"] = exit_code
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print_report(res)
    return exit_code


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    cb = sub.add_parser("create-bucket")
    cb.add_argument("--endpoint", required=True)
    cb.add_argument("--bucket", required=True)
    run = sub.add_parser("run")
    run.add_argument("--mount", required=True)
    run.add_argument("--native", required=True)
    run.add_argument("--endpoint", required=True)
    run.add_argument("--bucket", required=True)
    run.add_argument("--json", required=True)
    run.add_argument("--recsync-pid", type=int)
    run.add_argument("--recsync-version", default="?")
    run.add_argument("--server-pid", type=int)
    run.add_argument("--server-desc", default="?")
    run.add_argument("--reps", type=int, default=3)
    run.add_argument("--close-files", type=int, default=200)
    run.add_argument("--close-size", type=int, default=64 * 1024)
    run.add_argument("--visible-files", type=int, default=30)
    run.add_argument("--visible-size", type=int, default=MIB)
    run.add_argument("--visible-timeout", type=float, default=60)
    run.add_argument("--poll-ms", type=float, default=2.0)
    run.add_argument("--only", help="comma-separated subset of visible,close,seq_1m,seq_4k")
    args = parser.parse_args()
    if args.command == "create-bucket":
        cmd_create_bucket(args)
        return 0
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
