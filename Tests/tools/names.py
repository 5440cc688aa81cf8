#!/usr/bin/env python3
"""names: writes files whose names are bytes of every kind into a folder, then reports what the
folder lists and what recsync says about each file, all as hex so no byte is lost on the way.

    names.py write DIR      creates the files; prints {"names": [hex, ...]}
    names.py check DIR      prints {"listed": [hex, ...], "files": {hex: {"status", "key", "content"}}}

Used by recsync's integration tests (names are bytes: readdir gives back what was written, and
each name reaches the bucket under a key of its own). Python 3 standard library only.
"""

import json
import os
import sys

NAMES = [
    "café.wav".encode(),                       # NFC
    "cafe\u0301.wav".encode(),                 # NFD: another name
    b"caf\xe9.wav",                            # Latin-1, not UTF-8
    b"caf%E9.wav",                             # looks like the key of the one above
    b"\xff\xfe take \x80.wav",                 # bytes never valid in UTF-8
    b"half \xe2\x82 sequence.wav",             # a truncated sequence
    b"tab\there \x01 ctrl.wav",                # control characters
    b"new\nline.wav",
    "\u0301 starts with a combining mark.wav".encode(),
    b"n" * 251 + b".wav",                      # 255 bytes, the longest name
]


def write(folder):
    for index, name in enumerate(NAMES):
        fd = os.open(os.path.join(folder.encode(), name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"recording %d: " % index + name)
        os.close(fd)
    return {"names": [name.hex() for name in NAMES]}


def attribute(path, name):
    try:
        return os.getxattr(path, name).decode()
    except OSError:
        return None


def check(folder):
    base = folder.encode()
    files = {}
    for name in NAMES:
        path = os.path.join(base, name)
        with open(path, "rb") as handle:
            content = handle.read()
        files[name.hex()] = {"status": attribute(path, "user.sync.status"),
                             "key": attribute(path, "user.sync.s3key"), "content": content.hex()}
    return {"listed": sorted(name.hex() for name in os.listdir(base)), "files": files}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        raise SystemExit("usage: names.py write|check DIR")
    result = write(sys.argv[2]) if sys.argv[1] == "write" else check(sys.argv[2])
    json.dump(result, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
