#!/usr/bin/env python3
"""A writer that records every byte the kernel acknowledged, to prove that none is lost.

    ackwriter.py write PATH --acked FILE [--block N] [--bytes N] [--hold S] [--then-bytes N]
                            [--rate BYTES_PER_S] [--seed S]
    ackwriter.py verify PATH --acked FILE [--block N] [--seed S]

`write` opens PATH (created, truncated) and writes deterministic blocks. After every write() that
returned, the total acknowledged so far is written to the --acked file (outside the mount, with
rename so a reader never sees half a number). After --bytes it writes "ready" to FILE.ready, then
keeps the file open for --hold seconds while writing --then-bytes more (at --rate). A write that
fails (the daemon went away) ends the writer; that is expected in these tests. It exits 0 unless
it could not even open the file.

`verify` (with the block size and seed the writer used) checks that PATH holds at least the acknowledged bytes, exactly the blocks written,
and exits 0; otherwise it prints the first difference and exits 1.
"""
import argparse
import hashlib
import os
import sys
import time


def block(seed, index, size):
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{index}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def record(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(value))
    os.replace(tmp, path)


def write(args):
    try:
        fd = os.open(args.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as e:
        print(f"ackwriter: cannot open {args.path}: {e}", file=sys.stderr)
        return 2
    acked = 0
    record(args.acked + ".block", args.block)
    record(args.acked + ".seed", args.seed)
    record(args.acked, 0)
    index = 0

    def one():
        nonlocal acked, index
        data = block(args.seed, index, args.block)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
            acked += n
        index += 1
        record(args.acked, acked)

    try:
        while acked < args.bytes:
            one()
        record(args.acked + ".ready", acked)
        deadline = time.monotonic() + args.hold
        extra = 0
        while time.monotonic() < deadline:
            if extra < args.then_bytes:
                one()
                extra += args.block
                if args.rate > 0:
                    time.sleep(args.block / args.rate)
            else:
                time.sleep(0.05)
        os.close(fd)
        record(args.acked + ".closed", acked)
    except OSError as e:
        record(args.acked + ".error", f"{acked} {e.errno}")
    return 0


def verify(args):
    acked = int(open(args.acked).read().strip() or 0)
    if os.path.exists(args.acked + ".block"):
        args.block = int(open(args.acked + ".block").read().strip())
    if os.path.exists(args.acked + ".seed"):
        args.seed = open(args.acked + ".seed").read()
    size = os.path.getsize(args.path)
    if size < acked:
        print(f"ackwriter: {args.path} holds {size} bytes; {acked} were acknowledged", file=sys.stderr)
        return 1
    with open(args.path, "rb") as f:
        index = 0
        offset = 0
        while offset < acked:
            want = block(args.seed, index, args.block)
            got = f.read(len(want))
            limit = min(len(want), acked - offset)
            if got[:limit] != want[:limit]:
                print(f"ackwriter: {args.path} differs in block {index} (offset {offset})", file=sys.stderr)
                return 1
            offset += len(want)
            index += 1
    print(f"ok {acked} acknowledged bytes kept, file has {size}")
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["write", "verify"])
    parser.add_argument("path")
    parser.add_argument("--acked", required=True)
    parser.add_argument("--block", type=int, default=65536)
    parser.add_argument("--bytes", type=int, default=0)
    parser.add_argument("--hold", type=float, default=0)
    parser.add_argument("--then-bytes", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--seed", default="recsync")
    args = parser.parse_args()
    return write(args) if args.mode == "write" else verify(args)


if __name__ == "__main__":
    sys.exit(main())
