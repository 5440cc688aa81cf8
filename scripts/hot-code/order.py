#!/usr/bin/env python3
"""Makes and checks lld's symbol ordering for the functions of recsync that run.

usage: order.py --map LINK_MAP BINARY CALLGRIND_OUTPUT...
       order.py --check BINARY ORDER_FILE

The first form prints, one per line, every function of BINARY that ran in a callgrind output
(made with --demangle=no, as caller or callee, in BINARY itself rather than in a shared library):
first those the daemon ran (the profiles whose command has --foreground), then those only the
commands ran, each part sorted by name so that a regenerated list differs from the last only
where the code did. lld moves whole input sections, and orders every local symbol of a listed
name; a function that shares a large section with other code (the plain .text of code built
without -ffunction-sections) would drag all of it to the front, so LINK_MAP (lld's -Map output,
made with --no-demangle) is read and a name is listed only if every section it lies in is at
most 64 KiB.

--check reports how many listed functions BINARY still has, and how many 64 KiB windows of code
they touch: mangled names change with the code, and a list that has gone stale puts less first.
It never fails a build: a stale list costs memory, not correctness.
"""
import os
import re
import subprocess
import sys

LARGEST_MOVABLE = 64 * 1024
WINDOW = 64 * 1024


def functions_of(binary):
    """Every function symbol of `binary`, with its address and size."""
    listing = subprocess.run(["nm", "-S", "--defined-only", binary],
                             capture_output=True, text=True, check=True).stdout
    functions = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tTwW":
            functions[fields[3]] = (int(fields[0], 16), int(fields[1], 16))
    return functions


def section_sizes(link_map):
    """The size of the largest input section each symbol name of an lld link map lies in."""
    sizes, current = {}, None
    with open(link_map, errors="replace") as lines:
        for line in lines:
            fields = line.split()
            if len(fields) >= 5 and ":(" in line:
                current = int(fields[2], 16)  # VMA LMA Size Align In
            elif len(fields) == 5 and current is not None:
                name = fields[4]  # VMA LMA Size Align Symbol
                sizes[name] = max(sizes.get(name, 0), current)
    return sizes


def ran(path, binary):
    """The functions of `binary` a callgrind output names, and whether its command was the daemon."""
    names, daemon = set(), False
    objects, functions = {}, {}
    own = os.path.basename(binary)
    current_object = called_object = None
    compressed = re.compile(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$")
    with open(path, errors="replace") as profile:
        for line in profile:
            if line.startswith("cmd:"):
                daemon = " --foreground" in line
                continue
            match = compressed.match(line)
            if not match:
                continue
            kind, number, text = match.group(1), match.group(2), (match.group(3) or "").strip()
            if kind in ("ob", "cob"):
                if text:
                    objects[number] = text
                if kind == "ob":
                    current_object = objects.get(number)
                else:
                    called_object = objects.get(number)
            elif kind in ("fn", "cfn"):
                if text:
                    functions[number] = text
                name = functions.get(number)
                where = current_object if kind == "fn" else (called_object or current_object)
                if kind == "cfn":
                    called_object = None
                if name and where and os.path.basename(where) == own:
                    names.add(name)
    return names, daemon


def windows(spans):
    touched = set()
    for address, size in spans:
        touched.update(range(address // WINDOW, (address + max(size, 1) - 1) // WINDOW + 1))
    return len(touched)


def check(binary, order_file):
    with open(order_file) as listed:
        names = [line.strip() for line in listed if line.strip()]
    functions = functions_of(binary)
    present = [functions[name] for name in names if name in functions]
    share = 100 * len(present) // max(len(names), 1)
    size = sum(length for _, length in present) // 1024
    print(f"hot code: {len(present)} of the {len(names)} functions in {order_file} are in {binary} ({share} %), "
          f"{size} KiB of code in {windows(present)} windows of 64 KiB")
    if share < 75:
        print("hot code: the list has gone stale; run scripts/hot-code/generate.sh to make it again")


def main():
    arguments = sys.argv[1:]
    if len(arguments) == 3 and arguments[0] == "--check":
        check(arguments[1], arguments[2])
        return
    if len(arguments) < 4 or arguments[0] != "--map":
        sys.exit(__doc__)
    sizes = section_sizes(arguments[1])
    binary, profiles = arguments[2], arguments[3:]
    known = set(functions_of(binary))
    by_daemon, by_commands = set(), set()
    for path in profiles:
        names, daemon = ran(path, binary)
        (by_daemon if daemon else by_commands).update(names & known)
    if not by_daemon:
        sys.exit("order.py: no profile of the daemon (a command with --foreground) names a function of the binary")

    def movable(names):
        return sorted(name for name in names if sizes.get(name, LARGEST_MOVABLE + 1) <= LARGEST_MOVABLE)

    first, then = movable(by_daemon), movable(by_commands - by_daemon)
    print(f"order.py: {len(by_daemon | by_commands)} functions ran, {len(first)} of the daemon's and "
          f"{len(then)} more of the commands' can be moved", file=sys.stderr)
    for name in first + then:
        print(name)

main()
