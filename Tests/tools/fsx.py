#!/usr/bin/env python3
"""fsx: a file system exerciser in the spirit of the classic fsx, checked against a model.

Random writes, reads, truncates, mmap reads and writes, punched holes, copy_file_range, fsyncs
and reopens on one file, every read compared with an in-memory model of what the file must
hold. Used by recsync's integration tests on a file inside a mount.

    fsx.py FILE [--ops 100000] [--seed N] [--max-size 4194304]

Without --seed a random one is chosen. Prints `ok OPS ops, SIZE bytes, seed N` and exits 0, or
prints the first mismatch (operation number, what was done, offset, expected and found bytes,
the last operations and the command that replays the run from its seed) and exits 1.
Python 3 standard library only.
"""

import argparse
import ctypes
import mmap
import os
import random
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-size", type=int, default=4 << 20)
    parser.add_argument("--no-mmap", action="store_true")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1 << 31)
    replay = f"replay: {sys.argv[0]} {args.file} --ops {args.ops} --seed {args.seed} --max-size {args.max_size}" + (
        " --no-mmap" if args.no_mmap else "")
    print(f"seed {args.seed}", file=sys.stderr)
    libc = ctypes.CDLL(None, use_errno=True)

    rng = random.Random(args.seed)
    model = bytearray()
    history = []
    fd = os.open(args.file, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)

    def fail(number, what, offset, expected, found):
        first = next((i for i, (a, b) in enumerate(zip(expected, found)) if a != b), min(len(expected), len(found)))
        print(f"MISMATCH at op {number} ({what}) offset {offset + first}: expected {expected[first:first + 16].hex()} "
              f"found {found[first:first + 16].hex()} (lengths {len(expected)}, {len(found)})")
        print("last operations:\n  " + "\n  ".join(history[-20:]))
        print(replay)
        sys.exit(1)

    def check_size(number, what):
        size = os.fstat(fd).st_size
        if size != len(model):
            print(f"MISMATCH at op {number} ({what}): size {size}, expected {len(model)}")
            print("last operations:\n  " + "\n  ".join(history[-20:]))
            print(replay)
            sys.exit(1)

    for number in range(1, args.ops + 1):
        roll = rng.random()
        if roll < 0.35:
            offset = rng.randrange(0, args.max_size)
            length = rng.randrange(1, 65536)
            data = rng.randbytes(length)
            os.pwrite(fd, data, offset)
            if offset > len(model):
                model.extend(b"\0" * (offset - len(model)))
            model[offset:offset + length] = data
            history.append(f"{number} write {offset} +{length}")
        elif roll < 0.70:
            if not model:
                continue
            offset = rng.randrange(0, len(model))
            length = rng.randrange(1, 65536)
            found = os.pread(fd, length, offset)
            expected = bytes(model[offset:offset + length])
            history.append(f"{number} read {offset} +{length}")
            if found != expected:
                fail(number, "read", offset, expected, found)
        elif roll < 0.80:
            size = rng.randrange(0, args.max_size)
            os.ftruncate(fd, size)
            if size < len(model):
                del model[size:]
            else:
                model.extend(b"\0" * (size - len(model)))
            history.append(f"{number} truncate {size}")
            check_size(number, "truncate")
        elif roll < 0.88 and not args.no_mmap:
            if len(model) < 4096:
                continue
            offset = rng.randrange(0, len(model) - 1)
            length = min(rng.randrange(1, 32768), len(model) - offset)
            page = offset - offset % mmap.PAGESIZE
            span = offset + length - page
            with mmap.mmap(fd, span, offset=page) as mapped:
                if rng.random() < 0.5:
                    data = rng.randbytes(length)
                    mapped[offset - page:offset - page + length] = data
                    mapped.flush()
                    model[offset:offset + length] = data
                    history.append(f"{number} mmap write {offset} +{length}")
                else:
                    found = bytes(mapped[offset - page:offset - page + length])
                    history.append(f"{number} mmap read {offset} +{length}")
                    if found != bytes(model[offset:offset + length]):
                        fail(number, "mmap read", offset, bytes(model[offset:offset + length]), found)
        elif roll < 0.90:
            if not model:
                continue
            offset = rng.randrange(0, len(model))
            length = rng.randrange(1, 65536)
            # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: the range reads as zeros, the size stays.
            if libc.fallocate(fd, 3, ctypes.c_long(offset), ctypes.c_long(length)) != 0:
                print(f"fallocate failed: {os.strerror(ctypes.get_errno())}")
                print(replay)
                sys.exit(1)
            end = min(offset + length, len(model))
            model[offset:end] = b"\0" * (end - offset)
            history.append(f"{number} punch {offset} +{length}")
            check_size(number, "punch")
        elif roll < 0.92:
            if len(model) < 2:
                continue
            source = rng.randrange(0, len(model) - 1)
            length = rng.randrange(1, min(65536, len(model) - source) + 1)
            target = rng.randrange(0, args.max_size)
            if target < source + length and source < target + length:
                continue  # overlapping ranges of one file are EINVAL
            copied = os.copy_file_range(fd, fd, length, source, target)
            data = bytes(model[source:source + copied])
            if target > len(model):
                model.extend(b"\0" * (target - len(model)))
            model[target:target + copied] = data
            history.append(f"{number} copy_file_range {source} -> {target} +{copied}")
        elif roll < 0.95:
            os.fsync(fd)
            history.append(f"{number} fsync")
        else:
            os.close(fd)
            fd = os.open(args.file, os.O_RDWR)
            history.append(f"{number} reopen")
            check_size(number, "reopen")

    check_size(args.ops, "end")
    os.lseek(fd, 0, os.SEEK_SET)
    whole = b""
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        whole += chunk
    os.close(fd)
    if whole != bytes(model):
        fail(args.ops, "final read", 0, bytes(model), whole)
    print(f"ok {args.ops} ops, {len(model)} bytes, seed {args.seed}")


if __name__ == "__main__":
    main()
