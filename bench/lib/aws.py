"""`aws s3 cp`, the reference client of the upload rows: its own config file (the machine's
~/.aws does not apply) with recsync's part size, CPU and peak memory from os.wait4's rusage."""

import os
import subprocess
import threading
import time

from .s3 import BUCKET
from .util import Broken


def write_config(work):
    """Points the AWS CLI at a config file of the run: path-style addressing, 8 MiB parts like
    recsync's default chunk_size (the CLI's MB is MiB), its default 10 requests at once."""
    path = os.path.join(work, "aws-config")
    with open(path, "w") as f:
        f.write(f"[default]\nregion = {os.environ.get('AWS_DEFAULT_REGION', 'us-east-1')}\ns3 =\n"
                "    addressing_style = path\n    multipart_threshold = 8MB\n    multipart_chunksize = 8MB\n"
                "    max_concurrent_requests = 10\n")
    os.environ["AWS_CONFIG_FILE"] = path
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(work, "aws-credentials-none")


def cp(endpoint, src, key, recursive=False, timeout=3600):
    """Runs `aws s3 cp SRC s3://bucket/KEY`; returns wall seconds (spawn to exit), CPU seconds
    (user + system of the process and what it waited for) and its peak RSS in KiB."""
    cmd = ["aws", "s3", "cp", src, f"s3://{BUCKET}/{key}", "--endpoint-url", endpoint,
           "--only-show-errors", "--no-progress"] + (["--recursive"] if recursive else [])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = []
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read()), daemon=True)
    reader.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - t0
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if proc.returncode != 0:
        text = (output[0] if output else b"").decode(errors="replace").strip()[-600:]
        raise Broken(f"aws s3 cp exited with {proc.returncode}: {text}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_kib": usage.ru_maxrss}
