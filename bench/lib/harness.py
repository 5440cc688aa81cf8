"""One run: the scratch folder, the server, the rows in order, and the cleanup that always
happens (every mount unmounted, the server stopped, the scratch folder removed)."""

import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field

from . import aws, deps, report, rows_disk, rows_recsync, rows_upload
from .procs import wait_quiet
from .s3 import Server
from .tools import FS_TOOLS, RECSYNCS, UPLOADERS, make_tools, unmount_all
from .util import GIB, Broken, is_mounted, log


@dataclass
class Group:
    """A measurement; some give several rows (4, 5 and 6 come from the same uploads)."""
    name: str
    rows: tuple
    tools: tuple
    measure: object
    variant: str = "default"  # recsync's config: settle0 sets settle_delay = 0
    premount: bool = True  # False: the measurement mounts by itself


GROUPS = (
    Group("seq1m", (1,), FS_TOOLS, rows_disk.seq_1m),
    Group("seq4k", (2,), FS_TOOLS, rows_disk.seq_4k),
    Group("close", (3,), FS_TOOLS, rows_disk.close_latency),
    Group("upload", (4, 5, 6), UPLOADERS, rows_upload.upload, variant="settle0"),
    Group("queued", (6,), RECSYNCS, rows_recsync.queued),
    Group("burst", (7,), UPLOADERS, rows_upload.burst),
    Group("create", (8,), FS_TOOLS, rows_disk.creates),
    Group("scan", (9,), RECSYNCS, rows_recsync.scan, premount=False),
    Group("getxattr", (10,), RECSYNCS, rows_recsync.getxattr),
)


@dataclass
class Context:
    repo: str
    work: str
    args: object
    sizes: object
    server: Server = None
    recsync_bin: str = None
    passthrough_bin: str = None
    tools: dict = field(default_factory=dict)
    mounted: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def wait_quiet(self):
        pids = list(self.server.pids) + [p for t in self.mounted for p in t.pids()]
        return wait_quiet(pids, window=0.25 if self.args.quick else 0.5)

    def clean(self, tool):
        if tool != "aws":
            tool.clean()


def need_bytes(args, groups):
    s = args.sizes
    need = GIB // 2
    if "seq1m" in groups or "seq4k" in groups:
        need += s.seq * 2
    if "upload" in groups:
        need += s.upload * 5  # the source, the copy in the mount, rclone's cache, s3fs's and moto's temporaries
    return need


def run(repo, args):
    groups = [g for g in GROUPS if set(g.rows) & set(args.rows) and set(g.tools) & set(args.tools)]
    names = {g.name for g in groups}
    deps.ensure_packages(args.tools)
    recsync_bin = deps.recsync_binary(repo)
    os.makedirs(args.work_parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix="recsync-bench.", dir=args.work_parent)
    ctx = Context(repo=repo, work=work, args=args, sizes=args.sizes, recsync_bin=recsync_bin)
    ctx.server = Server(repo, work, args.s3)
    st = os.statvfs(work)
    if st.f_bavail * st.f_frsize < need_bytes(args, names):
        shutil.rmtree(work, ignore_errors=True)
        raise Broken(f"{args.work_parent}: {st.f_bavail * st.f_frsize // GIB} GiB free, the run needs about "
                     f"{need_bytes(args, names) // GIB + 1} GiB")
    previous = signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    results, machine = {}, {}
    try:
        if "passthrough_ll" in args.tools:
            ctx.passthrough_bin = deps.build_passthrough_ll(work)
        ctx.server.start()
        aws.write_config(work)
        machine = deps.machine(work, recsync_bin, args.tools, ctx.server)
        machine["git"] = deps.git_revision(repo)
        rclones = [t for t in args.tools if t.startswith("rclone")]
        if rclones and not ctx.server.lists_folders():
            args.tools = [t for t in args.tools if t not in rclones]
            ctx.notes.append(f"{', '.join(rclones)} not measured: this {args.s3} server rejects the signature of "
                             "a listing with delimiter '/' (getmoto/moto#5948), which rclone needs to read a "
                             "folder; BENCH_S3=rgw measures rclone too")
            log(ctx.notes[-1])
        ctx.tools = make_tools(ctx, args.tools)
        rows_upload.prepare(ctx, names)
        for group in groups:
            results[group.name] = run_group(ctx, group)
    except Broken as error:
        ctx.problems.append(str(error))
        log(f"error: {error}")
    finally:
        unmount_all(ctx)
        ctx.server.stop()
        signal.signal(signal.SIGTERM, previous)
        leftovers = [t.dir for t in ctx.tools.values() if t and is_mounted(t.dir)]
        if leftovers:
            ctx.problems.append(f"still mounted: {', '.join(leftovers)}; {work} left in place")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if machine:
        machine["loadavg_end"] = list(os.getloadavg())
        machine["duration_s"] = round(time.monotonic() - started, 1)
    return report.finish(repo, args, machine, results, ctx.problems, ctx.notes)


def _terminate(signum, frame):
    """SIGTERM ends the run like Ctrl-C does: through the cleanup."""
    raise SystemExit(128 + signum)


def run_group(ctx, group):
    args = ctx.args
    label = "row " + "/".join(map(str, group.rows))
    names = [n for n in group.tools if n in args.tools]
    log(f"--- {label} ({group.name}): {', '.join(names)}")
    results = {n: [] for n in names}
    active = []
    for name in names:
        tool = ctx.tools[name] if name != "aws" else "aws"
        if tool != "aws" and group.premount:
            try:
                tool.mount(group.variant)
            except Broken as error:
                ctx.problems.append(f"{label}: {name}: {error}")
                log(f"{label}: {name} did not mount: {error}")
                continue
        elif tool != "aws":
            tool.variant = group.variant
        active.append(name)
    try:
        for rep in range(args.reps):
            shift = rep % len(active) if active else 0
            for name in active[shift:] + active[:shift]:  # tools alternate between repetitions
                tool = ctx.tools[name] if name != "aws" else "aws"
                waited = ctx.wait_quiet()
                try:
                    result = group.measure(ctx, tool, rep)
                    result.update(rep=rep, waited_for_quiet_s=waited)
                    results[name].append(result)
                    shown = {k: v for k, v in result.items() if k not in ("rep", "waited_for_quiet_s")}
                    log(f"{label} {name} rep {rep + 1}/{args.reps}: {shown}")
                except Exception as error:  # noqa: BLE001 - any failure is reported, the run goes on
                    text = f"{type(error).__name__}: {error}" if not isinstance(error, Broken) else str(error)
                    ctx.problems.append(f"{label}: {name}: {text}")
                    log(f"{label}: {name} failed: {text}")
                finally:
                    ctx.server.resume()
                    try:
                        ctx.clean(tool)
                    except Exception as error:  # noqa: BLE001
                        ctx.problems.append(f"{label}: cleaning up after {name}: {error}")
                ctx.server.check_alive()
    finally:
        for name in active:
            tool = ctx.tools[name] if name != "aws" else None
            if tool is not None and tool in ctx.mounted:
                tool.unmount()
    return results
