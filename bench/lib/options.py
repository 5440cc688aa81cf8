"""Command-line flags and BENCH_* variables, and the sizes of a full and a --quick run."""

import argparse
import os
from dataclasses import dataclass

from .tools import ALL_TOOLS
from .util import GIB, KIB, MIB

ROWS = tuple(range(1, 11))


@dataclass
class Sizes:
    seq: int  # rows 1-2: bytes written
    close_files: int  # row 3
    close_size: int
    upload: int  # rows 4-6: the file uploaded
    queued: int  # row 6: files queued with the server stopped
    burst_files: int  # row 7
    burst_size: int
    creates: int  # row 8
    create_cap: float  # row 8: seconds before a slow tool is stopped and its rate taken
    scan: int  # row 9
    getxattr: int  # row 10
    hang_timeout: float  # row 3: how long a close() may wait for a stopped server
    write_timeout: float
    upload_timeout: float
    scan_timeout: float


FULL = Sizes(seq=GIB, close_files=200, close_size=64 * KIB, upload=GIB, queued=100_000, burst_files=300,
             burst_size=256 * KIB, creates=10_000, create_cap=60, scan=100_000, getxattr=20_000,
             hang_timeout=30, write_timeout=1800, upload_timeout=900, scan_timeout=600)
QUICK = Sizes(seq=16 * MIB, close_files=20, close_size=64 * KIB, upload=16 * MIB, queued=500, burst_files=20,
              burst_size=256 * KIB, creates=500, create_cap=15, scan=500, getxattr=2_000,
              hang_timeout=5, write_timeout=120, upload_timeout=120, scan_timeout=60)


def parse(argv):
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Measures recsync against the native disk, libfuse's passthrough_ll, rclone mount, s3fs and "
                    "aws s3 cp on one local S3 server, and prints a table (see bench/README.md).")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one repetition: proves the harness works")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--reps", type=int, default=int(env["BENCH_REPS"]) if env.get("BENCH_REPS") else None,
                        help="repetitions of each row (BENCH_REPS; default 3, 1 with --quick)")
    parser.add_argument("--only", default=env.get("BENCH_ONLY", ""),
                        help="rows to run, e.g. 1,2,7 (BENCH_ONLY; default all of 1-10)")
    parser.add_argument("--tools", default=env.get("BENCH_TOOLS", ""),
                        help=f"tools to measure (BENCH_TOOLS; default all of {','.join(ALL_TOOLS)})")
    parser.add_argument("--s3", default=env.get("BENCH_S3", "moto"), choices=("moto", "rgw"),
                        help="the local S3 server (BENCH_S3): moto (default) or Ceph radosgw")
    parser.add_argument("--upload-checksum", default=env.get("BENCH_UPLOAD_CHECKSUM", ""),
                        choices=("", "auto", "crc32c", "sha256"),
                        help="recsync's upload_checksum (BENCH_UPLOAD_CHECKSUM; default: recsync's own, auto). moto takes "
                             "CRC32C trailers without checking them, so auto gives it SHA-256; crc32c measures the "
                             "trailer's cost on it")
    parser.add_argument("--work-parent", default=env.get("BENCH_WORK_PARENT", "/var/tmp"),
                        help="where the scratch folder is made (BENCH_WORK_PARENT; not a tmpfs)")
    parser.add_argument("--results", default=env.get("BENCH_RESULTS", ""),
                        help="folder for the JSON and Markdown results (BENCH_RESULTS; default bench/results)")
    args = parser.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.quick else 3
    if args.reps < 1:
        parser.error("--reps / BENCH_REPS must be at least 1")
    try:
        args.rows = sorted({int(r) for r in args.only.replace(" ", "").split(",") if r}) or list(ROWS)
    except ValueError:
        parser.error("--only / BENCH_ONLY: a comma-separated list of row numbers 1-10")
    if any(r not in ROWS for r in args.rows):
        parser.error("--only / BENCH_ONLY: rows are numbered 1-10")
    args.tools = [t for t in args.tools.replace(" ", "").split(",") if t] or list(ALL_TOOLS)
    unknown = [t for t in args.tools if t not in ALL_TOOLS]
    if unknown:
        parser.error(f"--tools / BENCH_TOOLS: unknown {', '.join(unknown)} (use {','.join(ALL_TOOLS)})")
    args.tools = [t for t in ALL_TOOLS if t in args.tools]
    args.mode = "quick" if args.quick else "full"
    args.sizes = QUICK if args.quick else FULL
    return args
