"""The tools compared: a plain folder, recsync (also without kernel passthrough: recsync-fuse),
libfuse's passthrough_ll, rclone mount (write-back 0 s and its default 5 s), s3fs, and `aws s3 cp`.
Each filesystem tool mounts in its own folder of the scratch tree, with its own prefix in the
bucket; the harness remembers every mount so that it is unmounted whatever happens."""

import os
import subprocess
import time

from .procs import alive, stop_pid
from .s3 import BUCKET
from .util import Broken, is_mounted, log, remove_tree_contents, wait_for

ALL_TOOLS = ("native", "recsync", "recsync-fuse", "passthrough_ll", "rclone-0s", "rclone-5s", "s3fs", "aws")
FS_TOOLS = ALL_TOOLS[:-1]
RECSYNCS = ("recsync", "recsync-fuse")  # recsync's variants: its targets apply to each
UPLOADERS = RECSYNCS + ("rclone-0s", "rclone-5s", "s3fs", "aws")


class Tool:
    """A folder to write into. `mount`/`unmount` are no-ops for the plain folder."""

    name = "?"
    prefix = None  # its keys in the bucket
    settle_delay = 0.0

    def __init__(self, ctx):
        self.ctx = ctx
        self.base = os.path.join(ctx.work, self.name)
        self.dir = os.path.join(self.base, "mnt")
        self.pid = None
        os.makedirs(self.dir, exist_ok=True)

    def pids(self):
        return [self.pid] if self.pid else []

    def mount(self, variant="default"):
        self.variant = variant

    def unmount(self):
        pass

    def key(self, path):
        return f"{self.prefix}{os.path.relpath(path, self.dir)}"

    def clean(self):
        """Removes what a run left: files in the folder and objects under the tool's prefix."""
        remove_tree_contents(self.dir)
        if self.prefix:
            self.ctx.server.empty(self.prefix)

    def check_alive(self):
        if self.pid and not alive(self.pid):
            raise Broken(f"{self.name} (pid {self.pid}) is gone")


class Native(Tool):
    name = "native"


class FuseTool(Tool):
    """A FUSE daemon the harness runs in the foreground as its own child."""

    def command(self):
        raise NotImplementedError

    def prepare(self):
        pass

    def mount(self, variant="default"):
        self.variant = variant
        if is_mounted(self.dir):
            raise Broken(f"{self.dir} is still mounted from an earlier run")
        self.prepare()
        log_path = os.path.join(self.base, f"{self.name}.log")
        self.log = open(log_path, "ab")
        proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                start_new_session=True)
        self.pid = proc.pid
        self.ctx.mounted.append(self)
        try:
            wait_for(lambda: is_mounted(self.dir) or proc.poll() is not None, 60, f"{self.name} to mount")
        except Broken:
            self.unmount()
            raise
        if proc.poll() is not None:
            self.unmount()
            with open(log_path, errors="replace") as f:
                raise Broken(f"{self.name} exited with {proc.returncode} instead of mounting: {f.read()[-600:]}")

    def unmount(self):
        for attempt in range(20):
            if not is_mounted(self.dir):
                break
            if subprocess.run(["fusermount3", "-u", self.dir], capture_output=True).returncode == 0:
                break
            time.sleep(0.25)
        if is_mounted(self.dir):
            log(f"{self.name}: the mount is busy; detaching it lazily (fusermount3 -uz)")
            subprocess.run(["fusermount3", "-uz", self.dir], capture_output=True)
        deadline = time.monotonic() + 10
        while self.pid and alive(self.pid) and time.monotonic() < deadline:
            try:
                os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            time.sleep(0.05)
        stop_pid(self.pid)
        self.pid = None
        if self in self.ctx.mounted:
            self.ctx.mounted.remove(self)
        if getattr(self, "log", None):
            self.log.close()
            self.log = None


class PassthroughLL(FuseTool):
    """libfuse's own passthrough_ll, as shipped: the floor of any libfuse filesystem. Options as
    recsync's: no writeback cache, extended attributes answered, default_permissions, 1 s entry
    and attribute timeout, multi-threaded."""

    name = "passthrough_ll"

    def command(self):
        self.src = os.path.join(self.base, "src")
        os.makedirs(self.src, exist_ok=True)
        opts = f"source={self.src},no_writeback,xattr,timeout=1.0,default_permissions"
        return [self.ctx.passthrough_bin, "-f", "-o", opts, self.dir]


class Rclone(FuseTool):
    """rclone mount --vfs-cache-mode writes; write-back after 0 s or its default 5 s. Credentials
    from the environment (env_auth in its config file)."""

    def __init__(self, ctx, write_back):
        self.name = f"rclone-{write_back}"
        self.write_back = write_back
        self.prefix = f"{self.name}/"
        super().__init__(ctx)

    def prepare(self):
        self.cache = os.path.join(self.base, "cache")
        os.makedirs(self.cache, exist_ok=True)
        self.config = os.path.join(self.base, "rclone.conf")
        with open(self.config, "w") as f:
            f.write(f"[bench]\ntype = s3\nprovider = Other\nenv_auth = true\nendpoint = {self.ctx.server.endpoint}\n"
                    f"force_path_style = true\nregion = {os.environ.get('AWS_DEFAULT_REGION', 'us-east-1')}\n")

    def command(self):
        cmd = ["rclone", "mount", f"bench:{BUCKET}/{self.name}", self.dir, "--config", self.config,
               "--vfs-cache-mode", "writes", "--cache-dir", self.cache]
        if self.write_back != "5s":  # 5 s is rclone's default: given as it comes
            cmd += ["--vfs-write-back", self.write_back]
        return cmd

    def clean(self):
        # Unmounted, its cache wiped and its objects deleted, then mounted again: deleting through
        # the mount would queue thousands of requests and leave uploads behind.
        self.unmount()
        remove_tree_contents(self.cache)
        remove_tree_contents(self.dir)
        self.ctx.server.empty(self.prefix)
        self.mount(self.variant)


class S3fs(FuseTool):
    """s3fs with its defaults; credentials from a passwd_file (mode 600); temporary files in the
    scratch folder."""

    name = "s3fs"
    prefix = "s3fs/"

    def prepare(self):
        self.tmp = os.path.join(self.base, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.passwd = os.path.join(self.base, "passwd")
        fd = os.open(self.passwd, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.environ['AWS_ACCESS_KEY_ID']}:{os.environ['AWS_SECRET_ACCESS_KEY']}\n")
        # s3fs mounts a prefix only when its directory object exists.
        self.ctx.server.client.put_object(Bucket=BUCKET, Key=self.prefix, Body=b"")

    def command(self):
        opts = ",".join([f"passwd_file={self.passwd}", f"url={self.ctx.server.endpoint}", "use_path_request_style",
                         f"endpoint={os.environ.get('AWS_DEFAULT_REGION', 'us-east-1')}", f"tmpdir={self.tmp}"])
        return ["s3fs", f"{BUCKET}:/{self.prefix.rstrip('/')}", self.dir, "-f", "-o", opts]

    def clean(self):
        self.unmount()
        remove_tree_contents(self.tmp)
        remove_tree_contents(self.dir)
        self.ctx.server.empty(self.prefix, keep=(self.prefix,))
        self.mount(self.variant)


class Recsync(Tool):
    """recsync with its defaults (whatever the machine's config says is ignored: --config names
    the run's own file); `settle0` sets settle_delay = 0. user_id = "recsync" puts its keys
    under recsync/. Without `passthrough`: recsync-fuse, the same with kernel_passthrough = false
    (every read and write through the daemon), its keys under recsync-fuse/."""

    mounts = 0

    def __init__(self, ctx, passthrough=True):
        self.passthrough = passthrough
        self.name = "recsync" if passthrough else "recsync-fuse"
        self.prefix = f"{self.name}/"
        super().__init__(ctx)

    def mount(self, variant="default"):
        self.variant = variant
        self.settle_delay = 0.0 if variant == "settle0" else 1.0
        if is_mounted(self.dir):
            raise Broken(f"{self.dir} is still mounted from an earlier run")
        Recsync.mounts += 1
        self.state = os.path.join(self.base, f"state-{Recsync.mounts}")
        config = os.path.join(self.base, f"{variant}.toml")
        with open(config, "w") as f:
            f.write(f'user_id = "{self.name}"\n' + ("" if self.passthrough else "kernel_passthrough = false\n") + "[sync]\n" +
                    ("settle_delay = 0\n" if variant == "settle0" else "") +
                    (f'upload_checksum = "{self.ctx.args.upload_checksum}"\n' if self.ctx.args.upload_checksum else ""))
        self.ctx.mounted.append(self)
        self.mount_started = time.perf_counter()
        done = subprocess.run([self.ctx.recsync_bin, "mount", self.dir, "--bucket", BUCKET, "--endpoint",
                               self.ctx.server.endpoint, "--state-dir", self.state, "--config", config],
                              capture_output=True, text=True, timeout=300)
        self.mount_returned = time.perf_counter()
        if done.returncode != 0:
            self.ctx.mounted.remove(self)
            raise Broken(f"recsync mount failed: {(done.stderr or done.stdout).strip()[-600:]}")
        if not is_mounted(self.dir):
            self.unmount()
            raise Broken("recsync mount returned 0 but the folder is not mounted")
        self.pid = daemon_pid(self.ctx.recsync_bin, self.dir)

    def unmount(self):
        if is_mounted(self.dir):
            done = subprocess.run([self.ctx.recsync_bin, "unmount", self.dir, "--timeout", "60"],
                                  capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                log(f"recsync unmount failed ({(done.stderr or done.stdout).strip()[-300:]}); trying fusermount3 -u")
        for _ in range(5):  # a dead mount can sit under a live one
            if not is_mounted(self.dir):
                break
            if subprocess.run(["fusermount3", "-u", self.dir], capture_output=True).returncode:
                subprocess.run(["fusermount3", "-uz", self.dir], capture_output=True)
        if self.pid and alive(self.pid):
            stop_pid(self.pid, timeout=30)
        self.pid = None
        if self in self.ctx.mounted:
            self.ctx.mounted.remove(self)

    def log_path(self):
        return os.path.join(self.state, "recsync.log")

    def key(self, path):
        return os.getxattr(path, "user.sync.s3key").decode()


def daemon_pid(binary, mountpoint):
    """The recsync daemon serving `mountpoint`: the /proc entry running `binary` with the mount
    point and --foreground on its command line (what `recsync mount` starts)."""
    binary = os.path.realpath(binary)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").split("\0")
            exe = os.path.realpath(f"/proc/{pid}/exe")
        except OSError:
            continue
        if exe == binary and "mount" in args and mountpoint in args and "--foreground" in args:
            return int(pid)
    raise Broken(f"cannot find the recsync daemon of {mountpoint}")


def make_tools(ctx, names):
    tools = {}
    for name in names:
        if name == "native":
            tools[name] = Native(ctx)
        elif name in RECSYNCS:
            tools[name] = Recsync(ctx, passthrough=name == "recsync")
        elif name == "passthrough_ll":
            tools[name] = PassthroughLL(ctx)
        elif name.startswith("rclone-"):
            tools[name] = Rclone(ctx, name.split("-", 1)[1])
        elif name == "s3fs":
            tools[name] = S3fs(ctx)
        elif name == "aws":
            tools[name] = None  # not a folder: rows that use it call aws.py
    return tools


def unmount_all(ctx):
    """Unmounts everything this run mounted, newest first; never raises."""
    for tool in list(reversed(ctx.mounted)):
        try:
            tool.unmount()
        except Exception as error:  # noqa: BLE001 - cleanup goes on
            log(f"unmounting {tool.name}: {error}")
    for tool in list(ctx.mounted):
        if is_mounted(tool.dir):
            subprocess.run(["fusermount3", "-uz", tool.dir], capture_output=True)
        stop_pid(tool.pid)
    ctx.mounted.clear()
