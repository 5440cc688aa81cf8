"""The table (tool x row, with recsync's targets, judged for each of its variants), printed as text and Markdown, and the JSON
file with every run's raw figures."""

import datetime
import json
import os

from .tools import ALL_TOOLS, RECSYNCS
from .util import log, median, size_label, count_label

# Targets the issue gives for recsync: (row, text, check on the recsync figure).
TARGETS = {
    "1": ">= 0.8x native", "1p": ">= 1.0x passthrough_ll", "2": ">= 0.3x native", "3up": "p99 < 1 ms",
    "3down": "p99 < 1 ms", "4": "<= 0.9x aws", "5": "<= 0.8 s/GiB", "6": "< 32 MiB", "6q": "< 32 MiB",
    "7": "<= 0.5 s + settle", "8": ">= 0.3x native", "9": "< 10 s", "10": "< 20 µs",
}


class Table:
    def __init__(self, results, tools, sizes):
        self.r, self.tools, self.s = results, tools, sizes
        self.lines = []

    def runs(self, group, tool):
        return self.r.get(group, {}).get(tool, [])

    def med(self, group, tool, key, sub=None):
        return median([(run[sub] if sub else run).get(key) for run in self.runs(group, tool)])

    def ratio(self, group, tool, peer, key):
        """Median of the per-repetition ratios tool/peer (both measured in the same repetition)."""
        peer_runs = {run["rep"]: run for run in self.runs(group, peer)}
        ratios = [run[key] / peer_runs[run["rep"]][key] for run in self.runs(group, tool)
                  if run["rep"] in peer_runs and peer_runs[run["rep"]].get(key)]
        return median(ratios)

    def add(self, row, title, cells, target=None, figure=None, test=None):
        """One line; `figure(tool)` is what `test` judges, for recsync and each of its variants:
        PASS, MISS or - (not measured)."""
        if not cells:
            return
        line = {"row": row, "title": title, "cells": cells, "target": TARGETS.get(target, "") if target else ""}
        for t in RECSYNCS:
            v = figure(t) if figure else None
            line[t] = "-" if v is None else ("PASS" if test(v) else "MISS")
        self.lines.append(line)

    def build(self):
        s = self.s
        for group, row, block in (("seq1m", "1", "1 MiB"), ("seq4k", "2", "4 KiB")):
            if group not in self.r:
                continue
            cells = {}
            for t in self.runs_tools(group):
                mb, rn = self.med(group, t, "mb_s"), self.ratio(group, t, "native", "mb_s")
                cells[t] = f"{mb:.0f} MB/s" + (f" ({rn:.2f}x)" if rn is not None and t != "native" else "")
            self.add(row, f"{row}. {size_label(s.seq)} in {block} blocks + fsync, MB/s (x native)", cells, row,
                     lambda t: self.ratio(group, t, "native", "mb_s"), lambda v: v >= (0.8 if row == "1" else 0.3))
            if row == "1" and self.runs(group, "passthrough_ll"):
                cells = {t: f"{v:.2f}x" for t in self.runs_tools(group) if t != "passthrough_ll"
                         for v in [self.ratio(group, t, "passthrough_ll", "mb_s")] if v is not None}
                self.add(row, "1. the same, x passthrough_ll", cells, "1p",
                         lambda t: self.ratio(group, t, "passthrough_ll", "mb_s"), lambda v: v >= 1.0)
        if "close" in self.r:
            for state in ("up", "down"):
                cells, p99s = {}, {}
                for t in self.runs_tools("close"):
                    runs = [run[state] for run in self.runs("close", t)]
                    hung = [run for run in runs if run["hung"]]
                    if hung:
                        h = hung[0]
                        cells[t] = f"hung ({h['done']}/{h['files']} in {h['elapsed_s']:.0f} s)"
                        p99s[t] = float("inf")  # a close() that hangs misses the target
                        continue
                    p50, p99 = median([x.get("p50_ms") for x in runs]), median([x.get("p99_ms") for x in runs])
                    cells[t] = f"{p50:.2f} / {p99:.2f}"
                    p99s[t] = p99
                what = "server up" if state == "up" else "server stopped"
                self.add("3", f"3. close() p50 / p99 ms, {s.close_files} x {size_label(s.close_size)}, {what}",
                         cells, f"3{state}", p99s.get, lambda v: v < 1.0)
        if "upload" in self.r:
            size = size_label(s.upload)
            cells = {}
            for t in self.runs_tools("upload"):
                v, ra = self.med("upload", t, "upload_s"), self.ratio("upload", t, "aws", "upload_s")
                cells[t] = f"{v:.2f} s" + (f" ({ra:.2f}x)" if ra is not None and t != "aws" else "")
                if t == "s3fs":
                    cells[t] += " in close"
            self.add("4", f"4. upload {size}: close -> visible, s (x aws)", cells, "4",
                     lambda t: self.ratio("upload", t, "aws", "upload_s"), lambda v: v <= 0.9)
            self.metric_line("5", f"5. CPU s per GiB, copy in + upload of {size}", "upload", "cpu_s_per_gib", "{:.2f}",
                             lambda v: v <= 0.8)
            self.metric_line("6", f"6. peak RSS MiB, uploading {size}", "upload", "peak_rss_mib", "{:.1f}",
                             lambda v: v < 32)
        if "queued" in self.r:
            self.metric_line("6", f"6. peak RSS MiB, {count_label(s.queued)} files queued (server stopped)", "queued",
                             "peak_rss_mib", "{:.1f}", lambda v: v < 32, target="6q")
        if "burst" in self.r:
            cells = {}
            for t in self.runs_tools("burst"):
                v = self.med("burst", t, "seconds")
                if t in RECSYNCS:
                    m = self.med("burst", t, "minus_settle_s")
                    settle = self.runs("burst", t)[0]["settle_delay_s"]
                    cells[t] = f"{v:.2f} s ({m:.2f} + {settle:g} settle)"
                else:
                    cells[t] = f"{v:.2f} s" + (" (cp --recursive)" if t == "aws" else "")
            self.add("7", f"7. {s.burst_files} x {size_label(s.burst_size)}: last close -> all in S3", cells, "7",
                     lambda t: self.med("burst", t, "minus_settle_s"), lambda v: v <= 0.5)
            cells = {t: f"{self.med('burst', t, 'server_cpu_s'):.2f}" for t in self.runs_tools("burst")
                     if self.med("burst", t, "server_cpu_s") is not None}
            self.add("7", "7. the S3 server's CPU s for those uploads (its floor: one core)", cells)
        if "create" in self.r:
            cells = {}
            for t in self.runs_tools("create"):
                v, rn = self.med("create", t, "files_s"), self.ratio("create", t, "native", "files_s")
                capped = any(run["capped"] for run in self.runs("create", t))
                cells[t] = f"{v:,.0f}/s" + (f" ({rn:.2f}x)" if rn is not None and t != "native" else "") + \
                    (" capped" if capped else "")
            self.add("8", f"8. {count_label(s.creates)} empty files created, files/s (x native)", cells, "8",
                     lambda t: self.ratio("create", t, "native", "files_s"), lambda v: v >= 0.3)
        if "scan" in self.r:
            cells = {t: f"{self.med('scan', t, 'scan_done_s'):.2f} s "
                        f"(mount {self.med('scan', t, 'mount_returned_s'):.2f} s)" for t in self.runs_tools("scan")}
            self.add("9", f"9. recsync mount over {count_label(s.scan)} files -> scan done", cells, "9",
                     lambda t: self.med("scan", t, "scan_done_s"), lambda v: v < 10)
        if "getxattr" in self.r:
            cells = {t: f"{self.med('getxattr', t, 'daemon_us'):.1f} µs "
                        f"(caller {self.med('getxattr', t, 'caller_us'):.1f} µs)" for t in self.runs_tools("getxattr")}
            self.add("10", f"10. getxattr user.sync.status, daemon CPU per call ({count_label(s.getxattr)} calls)",
                     cells, "10", lambda t: self.med("getxattr", t, "daemon_us"), lambda v: v < 20)
        return self.lines

    def runs_tools(self, group):
        return [t for t in self.tools if self.runs(group, t)]

    def metric_line(self, row, title, group, key, fmt, check, target=None):
        cells = {t: fmt.format(self.med(group, t, key)) for t in self.runs_tools(group)}
        self.add(row, title, cells, target or row, lambda t: self.med(group, t, key), check)


def render(lines, tools, markdown):
    judged = [t for t in RECSYNCS if t in tools]  # one result column per recsync variant shown
    header = ["row"] + list(tools) + ["recsync target"] + [f"{t} result" for t in judged]
    rows = [[line["title"]] + [line["cells"].get(t, "") for t in tools] + [line["target"]] + [line[t] for t in judged]
            for line in lines]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(c or " " for c in r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out + [rule])


def describe(args, machine):
    v = machine.get("versions", {})
    lines = [f"recsync benchmark, {args.mode} run ({args.reps} repetition{'s' if args.reps != 1 else ''}), "
             f"{machine.get('date', '?')}, git {machine.get('git', '?')}",
             f"machine: nproc {machine.get('nproc')}, {machine.get('cpu')}, {machine.get('memory_gib')} GiB RAM, "
             f"kernel {machine.get('kernel')}, scratch folder on {machine.get('scratch_fs')}",
             f"load average at start {machine.get('loadavg_start', [0])[0]:.2f}, at end "
             f"{machine.get('loadavg_end', [0])[0]:.2f}; took {machine.get('duration_s', '?')} s"]
    lines.append(f"recsync upload_checksum: {args.upload_checksum or 'default (auto)'}; S3 server: {args.s3}")
    lines += [f"{name}: {text}" for name, text in v.items()]
    return "\n".join(lines)


def finish(repo, args, machine, results, problems, extra_notes=()):
    tools = [t for t in ALL_TOOLS if t in args.tools]
    lines = Table(results, tools, args.sizes).build() if results else []
    tools = [t for t in tools if any(t in line["cells"] for line in lines)]
    text = describe(args, machine) if machine else ""
    print()
    if text:
        print(text + "\n")
    if lines:
        print(render(lines, tools, markdown=False))
        if args.markdown:
            print("\n" + render(lines, tools, markdown=True))
    notes = ["each figure is the median of the repetitions; a ratio is the median of the ratios taken within each "
             "repetition; tools alternate between repetitions; each timed run starts once the daemons and the S3 "
             "server have been idle; see bench/README.md"] + list(extra_notes)
    for note in notes:
        print(f"\n  * {note}")
    for problem in problems:
        print(f"  ! {problem}")
    print()
    status = 1 if problems or not results else 0
    doc = {"mode": args.mode, "reps": args.reps, "rows": args.rows, "tools": tools, "s3": args.s3,
           "upload_checksum": args.upload_checksum or "auto",
           "sizes": vars(args.sizes), "machine": machine, "table": lines, "results": results,
           "notes": notes, "problems": problems, "exit_status": status}
    markdown = render(lines, tools, markdown=True) if lines else ""
    markdown += "".join(f"\n- {n}" for n in notes) + "".join(f"\n- problem: {p}" for p in problems)
    write_results(repo, args, doc, markdown, text)
    return status


def write_results(repo, args, doc, markdown, text):
    folder = args.results or os.path.join(repo, "bench", "results")
    os.makedirs(folder, exist_ok=True)
    day = datetime.date.today().isoformat()
    latest = "latest" if args.mode == "full" else "latest-quick"
    for name in (f"{day}-{args.mode}.json", f"{latest}.json"):
        with open(os.path.join(folder, name), "w") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
    with open(os.path.join(folder, f"{latest}.md"), "w") as f:
        f.write("```\n" + text + "\n```\n\n" + markdown + "\n")
    path = os.path.abspath(os.path.join(folder, latest + ".json"))
    log(f"results: {os.path.relpath(path, repo) if path.startswith(repo + os.sep) else path}")
