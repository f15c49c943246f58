#!/usr/bin/env python3
"""Tutti against itself: two tutti-perf binaries (before and after a change) interleaved in one run.

Every round runs both binaries on the same collective, rank count and transport setting, the
order alternating between rounds so neither always goes first; the median out-of-place time of the
rounds is reported per size with the ratio after/before (> 1: slower after). A size is flagged
when the after binary is more than --threshold (default 10%) slower. --before-env and
--after-env (KEY=VALUE, repeatable) set variables for one side only: with the same binary on both
sides they compare two settings of one build (TUTTI_FLIGHT_RECORDER=0 against the default).

Usage: perf/compare/before_after.py --before OLD/tutti-perf --after NEW/tutti-perf
       [--ranks 2,4] [--settings shm,tcp] [--colls all_reduce,all_gather,reduce_scatter]
       [--rounds 5] [--min 8] [--max 64M] [--factor 2] [--iters 10] [--warmup 5] [--json FILE]
       [--before-env KEY=VALUE]... [--after-env KEY=VALUE]...
       perf/compare/before_after.py --summarize FILE [--threshold 0.10]
--summarize reads a --json file back and prints one Markdown row per table: the geometric mean
of after/before over the non-zero sizes, the best and worst ratio, and the sizes flagged.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile


def size_arg(text):
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


def run_perf(exe, coll, n, setting, args, extra_env):
    env = dict(os.environ)
    env.pop("TUTTI_TRANSPORT", None)
    env.update(kv.split("=", 1) for kv in extra_env)
    if setting == "tcp":
        env["TUTTI_TRANSPORT"] = "tcp"
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [exe, coll, "-np", str(n), "-b", str(args.min), "-e", str(args.max), "-f", str(args.factor),
               "-n", str(args.iters), "-w", str(args.warmup), "-c", "0", "--json", out.name]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
        data = json.load(open(out.name))
    return {r["size"]: r["out_of_place"]["time_us"] for r in data["results"]}


def human(size):
    for unit, shift in (("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)


def summarize(path, threshold):
    rows = json.load(open(path))
    tables = {}
    for row in rows:
        tables.setdefault((row["collective"], row["ranks"], row["setting"]), []).append(row)
    print("| collective | ranks | setting | geomean | best | worst | > "
          f"{threshold:.0%} slower | those sizes (after/before) |")
    print("|---|---|---|---|---|---|---|---|")
    flagged = 0
    for (coll, n, setting), table in tables.items():
        sized = [r for r in table if r["bytes"] > 0]
        geomean = math.exp(sum(math.log(r["ratio"]) for r in sized) / len(sized))
        slower = [r for r in table if r["ratio"] > 1 + threshold]
        flagged += len(slower)
        names = ", ".join(f"{human(r['bytes'])} {r['ratio']:.2f}" for r in slower) or "-"
        print(f"| {coll} | {n} | {setting} | {geomean:.2f} | "
              f"{min(r['ratio'] for r in sized):.2f} | {max(r['ratio'] for r in sized):.2f} | "
              f"{len(slower)}/{len(table)} | {names} |")
    print(f"\n{flagged} of {len(rows)} sizes more than {threshold:.0%} slower after")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before")
    parser.add_argument("--after")
    parser.add_argument("--summarize", metavar="JSON", help="print the tables of a --json file")
    parser.add_argument("--ranks", default="2,4")
    parser.add_argument("--settings", default="shm,tcp")
    parser.add_argument("--colls", default="all_reduce,all_gather,reduce_scatter")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min", type=size_arg, default=8)
    parser.add_argument("--max", type=size_arg, default=64 << 20)
    parser.add_argument("--factor", type=int, default=2, help="size step (tutti-perf -f)")
    parser.add_argument("--before-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--after-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=0.10)
    parser.add_argument("--json", help="write every median here")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize, args.threshold)
        return
    if not args.before or not args.after:
        parser.error("--before and --after are required (or --summarize)")

    report = []
    worst = 0.0
    for coll in args.colls.split(","):
        for setting in args.settings.split(","):
            for n in [int(x) for x in args.ranks.split(",")]:
                times = {"before": {}, "after": {}}
                for r in range(args.rounds):
                    order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
                    for which in order:
                        exe = args.before if which == "before" else args.after
                        extra = args.before_env if which == "before" else args.after_env
                        for size, t in run_perf(exe, coll, n, setting, args, extra).items():
                            times[which].setdefault(size, []).append(t)
                print(f"\n{coll}, {n} ranks, {setting}: median of {args.rounds} rounds (us)")
                print(f"{'bytes':>10} {'before':>10} {'after':>10} {'after/before':>13}")
                for size in sorted(times["before"]):
                    b = statistics.median(times["before"][size])
                    a = statistics.median(times["after"][size])
                    ratio = a / b if b > 0 else float("nan")
                    worst = max(worst, ratio)
                    flag = "  SLOWER" if ratio > 1 + args.threshold else ""
                    print(f"{size:>10} {b:>10.1f} {a:>10.1f} {ratio:>13.2f}{flag}")
                    report.append({"collective": coll, "ranks": n, "setting": setting,
                                   "bytes": size, "before_us": b, "after_us": a, "ratio": ratio})
    slower = [r for r in report if r["ratio"] > 1 + args.threshold]
    print(f"\n{len(slower)} of {len(report)} sizes more than {args.threshold:.0%} slower after; "
          f"worst after/before {worst:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
