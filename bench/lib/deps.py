"""What a run needs on the machine: Debian packages (installed when missing and run as root),
recsync (built unless RECSYNC_BIN names one), libfuse's passthrough_ll (built from the example
libfuse3-dev ships), and the facts printed at the top of the report."""

import datetime
import os
import platform
import shutil
import subprocess

from .util import GIB, Broken, first_line, fs_type, log, run

PASSTHROUGH_SRC = "/usr/share/doc/libfuse3-dev/examples"

# Program -> Debian package, per tool; the harness itself needs the first list.
ALWAYS = {"fusermount3": "fuse3", "curl": "curl", "dd": "coreutils", "find": "findutils"}
PER_TOOL = {
    "passthrough_ll": {"gcc": "gcc", "pkg-config": "pkg-config"},
    "rclone": {"rclone": "rclone"},
    "s3fs": {"s3fs": "s3fs"},
}


def ensure_packages(tools):
    """Installs the Debian packages of missing programs with apt-get when run as root; otherwise
    says what to install."""
    need = dict(ALWAYS)
    for tool in tools:
        need.update(PER_TOOL.get(tool.split("-")[0], {}))
    packages = sorted({pkg for prog, pkg in need.items() if not shutil.which(prog)})
    if "passthrough_ll" in tools and not os.path.exists(os.path.join(PASSTHROUGH_SRC, "passthrough_ll.c")):
        packages.append("libfuse3-dev")
    if packages:
        if os.geteuid() != 0:
            raise Broken(f"missing Debian packages {' '.join(packages)}: apt-get install {' '.join(packages)} "
                         f"(or run as root and the harness installs them)")
        log(f"installing {' '.join(packages)} with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends"] + packages
        if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update"], timeout=600, env=env)
            run(cmd, timeout=1200, env=env)
    if "aws" in tools and not shutil.which("aws"):
        raise Broken("aws not found: scripts/install-deps.sh installs the AWS CLI (pip awscli)")
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise Broken("python3 cannot import boto3: scripts/install-deps.sh installs it") from None


def recsync_binary(repo):
    """RECSYNC_BIN, or a release build in .build-bench, linked as `make` links it."""
    given = os.environ.get("RECSYNC_BIN")
    if given:
        path = os.path.abspath(given)
        if not os.access(path, os.X_OK):
            raise Broken(f"RECSYNC_BIN={given} is not an executable")
        return path
    env = dict(os.environ)
    if os.path.isdir("/opt/swift/usr/bin"):
        env["PATH"] = "/opt/swift/usr/bin:" + env["PATH"]
    if not shutil.which("swift", path=env["PATH"]):
        raise Broken("swift not found: install a Swift 6 toolchain or set RECSYNC_BIN")
    # As `make` builds it: the Swift runtime linked in, the code laid out for memory (Makefile).
    log("building recsync (make recsync SCRATCH=.build-bench)")
    if subprocess.run(["make", "recsync", "SCRATCH=.build-bench"], cwd=repo, env=env).returncode:
        raise Broken("make recsync failed")
    return os.path.join(repo, ".build-bench", "release", "recsync")


def build_passthrough_ll(work):
    """Builds libfuse's passthrough_ll example as shipped, with gcc -O2, into the scratch folder."""
    folder = os.path.join(work, "passthrough_ll-build")
    os.makedirs(folder, exist_ok=True)
    for name in ("passthrough_ll.c", "passthrough_helpers.h"):
        shutil.copy(os.path.join(PASSTHROUGH_SRC, name), folder)
    flags = run(["pkg-config", "fuse3", "--cflags", "--libs"]).stdout.split()
    run(["gcc", "-O2", "-Wall", "passthrough_ll.c", *flags, "-o", "passthrough_ll"], cwd=folder)
    return os.path.join(folder, "passthrough_ll")


def git_revision(repo):
    done = subprocess.run(["git", "-C", repo, "describe", "--always", "--dirty"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def machine(work, recsync_bin, tools, server):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    st = os.statvfs(work)
    versions = {"recsync": " / ".join(run([recsync_bin, "version"]).stdout.strip().splitlines()),
                "libfuse": first_line(["pkg-config", "--modversion", "fuse3"]),
                "s3_server": server.description}
    if any(t.startswith("rclone") for t in tools):
        versions["rclone"] = first_line(["rclone", "version"])
    if "s3fs" in tools:
        versions["s3fs"] = first_line(["s3fs", "--version"])
    if "aws" in tools:
        versions["aws"] = first_line(["aws", "--version"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "scratch_fs": fs_type(work),
        "scratch_free_gib": round(st.f_bavail * st.f_frsize / GIB, 1),
        "loadavg_start": list(os.getloadavg()),
        "versions": versions,
    }
