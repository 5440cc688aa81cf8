#!/usr/bin/env python3
"""Measurements for bench/upload.sh: recsync's uploader vs. `aws s3 cp`.

    upload.py run --mount DIR --work DIR --endpoint URL --bucket NAME --recsync-pid PID [...]

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; `aws` is run
with the environment it is given (upload.sh points AWS_CONFIG_FILE at a file
with explicit transfer settings). `run` prints a table and writes the results
as JSON; it exits 1 when something broke (recsync went away, an upload failed,
hung or stored the wrong bytes, `aws` failed), 0 otherwise, whether or not the
targets were met.
"""

import argparse
import datetime
import hashlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (  # noqa: E402 - shared helpers of the write-path benchmark
    GIB,
    MIB,
    Broken,
    alive,
    cpu_ticks,
    head_size,
    log,
    machine_facts,
    s3_client,
    status,
    upload_error,
    verdict,
    wait_quiet,
)

TARGETS = {
    "cpu_ratio": 0.5,  # recsync CPU / aws CPU per GiB, at most
    "wall_ratio": 1.0,  # recsync close->synced / aws elapsed, at most
    "peak_rss_mib": 64.0,  # daemon peak RSS during the big upload, below
}
HZ = os.sysconf("SC_CLK_TCK")
COPY_BLOCK = MIB


# ---------------------------------------------------------------- files


def make_random_file(path, size):
    """Writes `size` random bytes (no holes), flushed to disk."""
    t0 = time.monotonic()
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n
        f.flush()
        os.fsync(f.fileno())
    st = os.stat(path)
    if st.st_size != size or st.st_blocks * 512 < size:
        raise Broken(f"{path}: expected {size} bytes without holes, got {st.st_size} ({st.st_blocks} blocks)")
    log(f"created {os.path.basename(path)}: {size // MIB} MiB of random bytes in {time.monotonic() - t0:.1f} s")


def expected_etags(path, part_size):
    """ETags S3 gives the file: single PUT (MD5) and multipart with `part_size` parts (MD5 of the
    parts' MD5s, '-N')."""
    whole = hashlib.md5()
    parts = []
    with open(path, "rb") as f:
        while True:
            block = f.read(part_size)
            if not block:
                break
            whole.update(block)
            parts.append(hashlib.md5(block).digest())
    multipart = f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"
    return {"single": whole.hexdigest(), "multipart": multipart}


def check_object(client, bucket, key, size, etags):
    head = client.head_object(Bucket=bucket, Key=key)
    etag = head["ETag"].strip('"')
    if head["ContentLength"] != size:
        raise Broken(f"s3://{bucket}/{key} has {head['ContentLength']} bytes, expected {size}")
    if etag not in etags.values():
        raise Broken(f"s3://{bucket}/{key} has ETag {etag}, expected one of {sorted(etags.values())} "
                     f"(the stored bytes differ from the file, or the part size is not the expected one)")
    return {"etag": etag, "parts": int(etag.rsplit("-", 1)[1]) if "-" in etag else 1}


AFTER_DELETE = []  # command run after every DeleteObject (radosgw: garbage collection now)


def delete_object(client, bucket, key):
    client.delete_object(Bucket=bucket, Key=key)
    if head_size(client, bucket, key) is not None:
        raise Broken(f"s3://{bucket}/{key} still exists after DeleteObject")
    if AFTER_DELETE:
        done = subprocess.run(AFTER_DELETE, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise Broken(f"{' '.join(AFTER_DELETE[:1])} after DeleteObject exited with {done.returncode}: "
                         f"{(done.stderr or done.stdout).strip()[-400:]}")


# ---------------------------------------------------------------- the daemon


def proc_status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise Broken(f"no {field} in /proc/{pid}/status")


class RssSampler(threading.Thread):
    """Samples VmRSS of `pid` every `interval` seconds until stopped."""

    def __init__(self, pid, interval=0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples = []
        self._done = threading.Event()

    def sample(self):
        try:
            self.samples.append((time.perf_counter(), proc_status_kib(self.pid, "VmRSS")))
        except (OSError, Broken):
            pass

    def run(self):
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def stop(self):
        self._done.set()
        self.join()
        self.sample()

    def peak(self, start=float("-inf"), end=float("inf")):
        inside = [kib for t, kib in self.samples if start <= t <= end]
        return max(inside) if inside else None


def recsync_log_tail(state_dir, lines=15):
    path = os.path.join(state_dir, "recsync.log") if state_dir else None
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def wait_synced(path, pid, timeout, poll):
    """Polls user.sync.status until `synced`. Returns the time it was seen. Raises Broken on
    `failed`, on an upload error, when the daemon is gone or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen = set()
    while True:
        if not alive(pid):
            raise Broken(f"the recsync daemon (pid {pid}) went away while uploading {os.path.basename(path)}")
        st = status(path)
        now = time.perf_counter()
        seen.add(st)
        if st == "synced":
            return now, sorted(seen)
        if st == "failed":
            raise Broken(f"{os.path.basename(path)} is 'failed': {upload_error(path) or '?'}")
        error = upload_error(path)
        if error:
            # Against a local server every attempt should succeed; a retry is a problem.
            raise Broken(f"{os.path.basename(path)} is '{st}' after an upload error: {error}")
        if time.monotonic() > deadline:
            raise Broken(f"{os.path.basename(path)} still '{st}' {timeout:.0f} s after close "
                         f"(states seen: {', '.join(sorted(seen))})")
        time.sleep(poll)


def copy_into_mount(src, dst, pid):
    """Copies src to dst like cp (1 MiB reads and writes), fsyncs, and returns the daemon's CPU ticks
    read just before close() and the time close() returned. The copy itself is not measured."""
    with open(src, "rb") as fin:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            while True:
                block = fin.read(COPY_BLOCK)
                if not block:
                    break
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view):]
            # Everything is in the daemon's hands before the CPU counter is read.
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        ticks = cpu_ticks([pid])
        os.close(fd)
        closed = time.perf_counter()
    return ticks, closed


def recsync_upload(args, client, src, name, etags, sample_rss=False):
    """One upload through the mount. CPU: the daemon's utime+stime from just before close() to the
    moment `synced` was seen. Wall: close() returned -> `synced` seen."""
    pid = args.recsync_pid
    dst = os.path.join(args.mount, name)
    size = os.stat(src).st_size
    hwm_before = proc_status_kib(pid, "VmHWM")
    rss_before = proc_status_kib(pid, "VmRSS")
    sampler = RssSampler(pid, args.rss_interval)
    sampler.start()
    try:
        t_copy = time.perf_counter()
        ticks0, closed = copy_into_mount(src, dst, pid)
        timeout = args.upload_timeout_base + size / (args.min_rate_mib * MIB)
        synced_at, states = wait_synced(dst, pid, timeout, args.poll_ms / 1000)
        ticks1 = cpu_ticks([pid])
    finally:
        sampler.stop()
    hwm_after = proc_status_kib(pid, "VmHWM")
    key = os.getxattr(dst, "user.sync.s3key").decode()
    obj = check_object(client, args.bucket, key, size, etags)
    cpu = (ticks1 - ticks0) / HZ
    result = {
        "bytes": size,
        "copy_s": round(closed - t_copy, 2),
        "wall_s": round(synced_at - closed, 3),
        "cpu_s": round(cpu, 2),
        "cpu_s_per_gib": round(cpu / (size / GIB), 3),
        "vm_hwm_before_kib": hwm_before,
        "vm_hwm_after_kib": hwm_after,
        "vm_rss_before_kib": rss_before,
        "vm_rss_peak_sampled_kib": sampler.peak(),
        "vm_rss_peak_copy_kib": sampler.peak(end=closed),
        "vm_rss_peak_upload_kib": sampler.peak(start=closed),
        "vm_rss_after_kib": sampler.samples[-1][1] if sampler.samples else None,
        "rss_samples": len(sampler.samples),
        "states_seen": states,
        "key": key,
        **obj,
    }
    os.unlink(dst)
    delete_object(client, args.bucket, key)
    return result


def aws_upload(args, client, src, key, etags):
    """`aws s3 cp` of the same file. CPU: ru_utime+ru_stime of the aws process and anything it
    waited for (os.wait4). Wall: from spawn to exit, so including the CLI's start-up."""
    size = os.stat(src).st_size
    cmd = ["aws", "s3", "cp", src, f"s3://{args.bucket}/{key}", "--endpoint-url", args.endpoint,
           "--only-show-errors", "--no-progress"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # Read the output in a thread so a chatty failure cannot block the child; reap with wait4.
    output = []
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read()), daemon=True)
    reader.start()
    _, wstatus, rusage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(wstatus)
    proc.stdout.close()
    if proc.returncode != 0:
        text = (output[0] if output else b"").decode(errors="replace").strip()[-800:]
        raise Broken(f"aws s3 cp exited with {proc.returncode}: {text}")
    obj = check_object(client, args.bucket, key, size, etags)
    cpu = rusage.ru_utime + rusage.ru_stime
    result = {
        "bytes": size,
        "wall_s": round(elapsed, 3),
        "cpu_s": round(cpu, 2),
        "cpu_user_s": round(rusage.ru_utime, 2),
        "cpu_sys_s": round(rusage.ru_stime, 2),
        "cpu_s_per_gib": round(cpu / (size / GIB), 3),
        "max_rss_kib": rusage.ru_maxrss,
        "key": key,
        **obj,
    }
    delete_object(client, args.bucket, key)
    return result


def aws_startup(args):
    """CPU and wall time of an `aws` run that uploads nothing (`aws --version`): its start-up cost."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(["aws", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, rusage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return {"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(rusage.ru_utime + rusage.ru_stime, 2)}


# ---------------------------------------------------------------- steps


def bench_1gib(args, client, quiet_pids):
    size = args.size_mib * MIB
    src = os.path.join(args.work, "upload-src.bin")
    make_random_file(src, size)
    etags = expected_etags(src, args.part_size)
    runs = {"recsync": [], "aws": []}
    try:
        for rep in range(args.reps):
            order = ("recsync", "aws") if rep % 2 == 0 else ("aws", "recsync")
            for side in order:
                waited = wait_quiet(quiet_pids)
                if side == "recsync":
                    r = recsync_upload(args, client, src, f"upload-{rep}.bin", etags)
                else:
                    r = aws_upload(args, client, src, f"bench-aws/upload-{rep}.bin", etags)
                r["waited_for_quiet_s"] = waited
                runs[side].append(r)
                log(f"{args.size_mib} MiB rep {rep + 1}/{args.reps} {side:7s}: wall {r['wall_s']:7.2f} s  "
                    f"cpu {r['cpu_s']:6.2f} s  ({r['parts']} part{'s' if r['parts'] != 1 else ''})")
    finally:
        os.unlink(src)
    res = {"bytes": size, "reps": args.reps, "runs": runs}
    for side in runs:
        res[side] = {
            "cpu_s_per_gib_median": round(statistics.median(r["cpu_s_per_gib"] for r in runs[side]), 3),
            "wall_s_median": round(statistics.median(r["wall_s"] for r in runs[side]), 3),
        }
    res["cpu_ratio"] = round(res["recsync"]["cpu_s_per_gib_median"] / res["aws"]["cpu_s_per_gib_median"], 3)
    res["wall_ratio"] = round(res["recsync"]["wall_s_median"] / res["aws"]["wall_s_median"], 3)
    res["aws_startup"] = aws_startup(args)
    return res


def bench_rss(args, client, quiet_pids):
    size = args.rss_size_mib * MIB
    src = os.path.join(args.work, "rss-src.bin")
    make_random_file(src, size)
    etags = expected_etags(src, args.part_size)
    res = {"bytes": size}
    try:
        res["waited_for_quiet_s"] = wait_quiet(quiet_pids)
        r = recsync_upload(args, client, src, "rss.bin", etags)
        res["recsync"] = r
        grew = r["vm_hwm_after_kib"] > r["vm_hwm_before_kib"]
        # VmHWM is the lifetime peak: it is this upload's peak only if it rose during it. The kernel
        # updates it lazily, so a VmRSS sample can be a little higher; the larger of the two counts.
        sampled = r["vm_rss_peak_sampled_kib"] or 0
        if grew and r["vm_hwm_after_kib"] >= sampled:
            res["recsync_peak_kib"] = r["vm_hwm_after_kib"]
            res["recsync_peak_source"] = "VmHWM (it rose during this upload)"
        else:
            res["recsync_peak_kib"] = sampled
            res["recsync_peak_source"] = f"the largest VmRSS sample (every {args.rss_interval * 1000:g} ms)" + (
                "" if grew else f"; VmHWM {mib(r['vm_hwm_after_kib']):.1f} MiB is from before this upload")
        log(f"{args.rss_size_mib} MiB recsync: wall {r['wall_s']:.2f} s, VmHWM {r['vm_hwm_before_kib']} -> "
            f"{r['vm_hwm_after_kib']} KiB, sampled VmRSS peak {r['vm_rss_peak_copy_kib']} KiB while copying, "
            f"{r['vm_rss_peak_upload_kib']} KiB while uploading")
        if args.rss_aws:
            res["aws_waited_for_quiet_s"] = wait_quiet(quiet_pids)
            a = aws_upload(args, client, src, "bench-aws/rss.bin", etags)
            res["aws"] = a
            log(f"{args.rss_size_mib} MiB aws: wall {a['wall_s']:.2f} s, max RSS {a['max_rss_kib']} KiB")
    finally:
        os.unlink(src)
    return res


# ---------------------------------------------------------------- report


def mib(kib):
    return kib / 1024


def size_label(size):
    return f"{size / GIB:g} GiB" if size % GIB == 0 else f"{size / MIB:g} MiB"


def print_report(res):
    m = res["machine"]
    print()
    print(f"recsync upload benchmark  {res['started_at']}  (recsync {res.get('recsync_version', '?')})")
    print(f"machine: nproc {m['nproc']}, {m['cpu']}, {m['memory_gib']} GiB RAM, kernel {m['kernel']}")
    print(f"work dir: {m['work_dir_fs']}, load avg start {m['loadavg_start'][0]:.2f} end {m['loadavg_end'][0]:.2f}")
    print(f"S3 server: {res['s3_server']}")
    print(f"client: {res['aws_version']}; transfer settings: {res['transfer']}")
    print()
    header = ("measurement", "recsync", "aws s3 cp", "recsync/aws", "target", "result")
    rows = []
    one, big = res.get("upload_1gib"), res.get("rss")
    if one:
        gib_label = size_label(one["bytes"])
        rows.append((f"CPU s per GiB, {gib_label} file (median of {one['reps']})",
                     f"{one['recsync']['cpu_s_per_gib_median']:.2f} s", f"{one['aws']['cpu_s_per_gib_median']:.2f} s",
                     f"{one['cpu_ratio']:.2f}x", f"<= {TARGETS['cpu_ratio']}x",
                     verdict(one["cpu_ratio"] <= TARGETS["cpu_ratio"])))
        rows.append((f"wall time, {gib_label} upload (median of {one['reps']})",
                     f"{one['recsync']['wall_s_median']:.2f} s", f"{one['aws']['wall_s_median']:.2f} s",
                     f"{one['wall_ratio']:.2f}x", f"<= {TARGETS['wall_ratio']:g}x",
                     verdict(one["wall_ratio"] <= TARGETS["wall_ratio"])))
    if big and "recsync" in big:
        peak = mib(big["recsync_peak_kib"])
        aws_rss = mib(big["aws"]["max_rss_kib"]) if "aws" in big else None
        rows.append((f"peak RSS, {size_label(big['bytes'])} upload", f"{peak:.1f} MiB",
                     f"{aws_rss:.1f} MiB" if aws_rss else "-",
                     f"{peak / aws_rss:.2f}x" if aws_rss else "", f"< {TARGETS['peak_rss_mib']:g} MiB",
                     verdict(peak < TARGETS["peak_rss_mib"])))
    if rows:
        widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        print(line)
        for r in rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
        print(line)
        print()
    notes = []
    if one:
        rs, aw = one["runs"]["recsync"], one["runs"]["aws"]
        notes.append(f"medians of {one['reps']} runs each (the machine is shared and noisy); recsync and aws "
                     f"alternate, each run starts after recsync and the S3 server were idle for 1 s")
        notes.append(f"recsync runs: CPU {[r['cpu_s'] for r in rs]} s, close->synced {[r['wall_s'] for r in rs]} s; "
                     f"aws runs: CPU {[r['cpu_s'] for r in aw]} s (user {[r['cpu_user_s'] for r in aw]}, "
                     f"sys {[r['cpu_sys_s'] for r in aw]}), elapsed {[r['wall_s'] for r in aw]} s")
        notes.append("recsync CPU: utime+stime of the daemon from just before close() (after the copy into the "
                     "mount and an fsync) until `synced` was seen; wall: close() returned -> `synced` "
                     f"(status polled every {res['poll_ms']:g} ms)")
        notes.append(f"aws CPU: rusage of the aws process (os.wait4), start-up included (`aws --version` alone: "
                     f"{one['aws_startup']['cpu_s']} s CPU, {one['aws_startup']['wall_s']} s); wall: spawn -> exit")
        notes.append(f"the same random file for both, in the page cache for both; S3 ETag checked after every "
                     f"upload (parts per object: recsync {rs[0]['parts']}, aws {aw[0]['parts']}); "
                     f"S3 server CPU is not counted")
    if big and "recsync" in big:
        r = big["recsync"]
        notes.append(f"peak RSS: {big['recsync_peak_source']}; daemon VmRSS after mounting, before any upload "
                     f"{mib(res['recsync_vm_rss_at_start_kib']):.1f} MiB; VmHWM before {mib(r['vm_hwm_before_kib']):.1f} MiB, "
                     f"after {mib(r['vm_hwm_after_kib']):.1f} MiB; sampled VmRSS max "
                     f"{mib(r['vm_rss_peak_sampled_kib']):.1f} MiB ({r['rss_samples']} samples from the start of "
                     f"the copy into the mount to `synced`): {mib(r['vm_rss_before_kib']):.1f} MiB before the copy, "
                     f"max {mib(r['vm_rss_peak_copy_kib'] or 0):.1f} MiB while copying into the mount, "
                     f"max {mib(r['vm_rss_peak_upload_kib'] or 0):.1f} MiB from close() to `synced`, "
                     f"{mib(r['vm_rss_after_kib'] or 0):.1f} MiB at the end; the {size_label(big['bytes'])} upload took "
                     f"{r['wall_s']:.1f} s after close"
                     + (f"; aws: ru_maxrss, {big['aws']['wall_s']:.1f} s" if "aws" in big else ""))
    for n in notes:
        print(f"  * {n}")
    if res.get("problems"):
        print()
        for p in res["problems"]:
            print(f"  ! {p}")
    print()


# ---------------------------------------------------------------- main


def aws_version():
    out = subprocess.run(["aws", "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).strip()


def cmd_run(args):
    quiet_pids = [args.recsync_pid] + [int(p) for p in args.server_pids.split(",") if p.strip()]
    res = {
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "recsync_version": args.recsync_version,
        "s3_server": args.server_desc,
        "aws_version": aws_version(),
        "transfer": args.transfer_desc,
        "machine": machine_facts(args.work),
        "targets": TARGETS,
        "poll_ms": args.poll_ms,
        "problems": [],
    }
    # The daemon's memory before anything was uploaded, for reference.
    res["recsync_vm_rss_at_start_kib"] = proc_status_kib(args.recsync_pid, "VmRSS")
    client = s3_client(args.endpoint)
    steps = [
        ("upload", "upload_1gib", lambda: bench_1gib(args, client, quiet_pids)),
        ("rss", "rss", lambda: bench_rss(args, client, quiet_pids)),
    ]
    only = set(args.only.split(",")) if args.only else None
    exit_code = 0
    for name, slot, step in steps:
        if only and name not in only:
            continue
        log(f"--- {name}")
        try:
            res[slot] = step()
        except (Broken, OSError, subprocess.CalledProcessError) as error:
            res["problems"].append(f"{name}: {error}")
            log(f"{name} failed: {error}")
            exit_code = 1
            if not alive(args.recsync_pid):
                res["problems"].append(f"the recsync daemon ({args.recsync_pid}) is gone")
                break
    if not alive(args.recsync_pid) and exit_code == 0:
        res["problems"].append(f"the recsync daemon ({args.recsync_pid}) is gone")
        exit_code = 1
    res["machine"]["loadavg_end"] = list(os.getloadavg())
    res["finished_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
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
    run = sub.add_parser("run")
    run.add_argument("--mount", required=True)
    run.add_argument("--work", required=True, help="scratch folder for the source files (not in the mount)")
    run.add_argument("--endpoint", required=True)
    run.add_argument("--bucket", required=True)
    run.add_argument("--json", required=True)
    run.add_argument("--recsync-pid", type=int, required=True)
    run.add_argument("--recsync-version", default="?")
    run.add_argument("--server-pids", default="", help="comma-separated pids of the S3 server's processes")
    run.add_argument("--server-desc", default="?")
    run.add_argument("--transfer-desc", default="?")
    run.add_argument("--reps", type=int, default=3)
    run.add_argument("--size-mib", type=int, default=1024)
    run.add_argument("--rss-size-mib", type=int, default=4096)
    run.add_argument("--part-size", type=int, default=8 * MIB, help="chunk size of both clients")
    run.add_argument("--rss-aws", type=int, default=1, help="also upload the big file with aws (1/0)")
    run.add_argument("--rss-interval", type=float, default=0.1)
    run.add_argument("--poll-ms", type=float, default=50.0)
    run.add_argument("--upload-timeout-base", type=float, default=120.0)
    run.add_argument("--min-rate-mib", type=float, default=5.0,
                     help="an upload slower than this (MiB/s) after close counts as hung")
    run.add_argument("--only", help="comma-separated subset of upload,rss")
    run.add_argument("--after-delete", default="",
                     help="command (split on spaces) to run after every DeleteObject, outside the measurements")
    args = parser.parse_args()
    AFTER_DELETE.extend(args.after_delete.split())
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
