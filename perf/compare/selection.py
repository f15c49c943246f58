#!/usr/bin/env python3
"""How often the cost model picks the faster of ring and tree, measured on posed hosts.

For each rank count, runs `tutti-perf all_reduce --algo ring,tree --hosts N` several times
(rounds), takes each algorithm's median time per size over the rounds, and compares the
measured winner with the model's choice between the two (TUTTI_ALGO=^rd, so the model chooses
among ring and tree only). A size where the two medians differ by less than the rounds' own
spread (the larger of the two algorithms' median absolute deviations, relative to the median,
at least --tie) is a tie: the measurement cannot tell the algorithms apart there, and either
choice counts as right; the table says which sizes were ties.

The algorithm measured first at a size is at a disadvantage (fresh buffers; measured 15-50%
slower at 128-512 KiB on 2 ranks): tutti-perf rotates the first algorithm size by size, and
rounds alternate the listed order, so with an even number of rounds each algorithm goes first
equally often at every size.

Usage: perf/compare/selection.py [--build DIR] [--ranks 2,4,8] [--hosts 2,4,8] [--rounds 6]
       [--min 8] [--max 64M] [--iters 10] [--warmup 3] [--tie 0.05] [--cost-file FILE]
       [--json FILE] [--markdown FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_round(args, nranks, hosts, path, order):
    env = dict(os.environ)
    env["TUTTI_ALGO"] = "^rd"
    if args.cost_file:
        env["TUTTI_COST_FILE"] = args.cost_file
    command = [os.path.join(args.build, "perf", "tutti-perf"), "all_reduce", "-np", str(nranks),
               "--hosts", str(hosts), "--algo", order, "-b", args.min, "-e", args.max,
               "-f", "2", "-n", str(args.iters), "-w", str(args.warmup), "--json", path]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"selection.py: {' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    with open(path) as file:
        return json.load(file)


def mad(values):
    centre = statistics.median(values)
    return statistics.median(abs(v - centre) for v in values)


def evaluate(args, nranks, hosts):
    rounds = []
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(args.rounds):
            # tutti-perf rotates which algorithm goes first size by size; alternating the
            # order between rounds makes each go first equally often at every size.
            order = "ring,tree" if r % 2 == 0 else "tree,ring"
            rounds.append(run_round(args, nranks, hosts, os.path.join(scratch, f"{r}.json"),
                                    order))
    rows = []
    for i, first in enumerate(rounds[0]["algo"]["rows"]):
        times = {a: [rnd["algo"]["rows"][i]["out_of_place"][a]["time_us"] for rnd in rounds]
                 for a in ("ring", "tree")}
        models = {rnd["algo"]["rows"][i]["model"] for rnd in rounds}
        if len(models) != 1:
            sys.exit(f"selection.py: the model's choice changed between rounds at {first['size']}")
        median = {a: statistics.median(t) for a, t in times.items()}
        spread = max(mad(times[a]) / median[a] for a in times)
        winner = min(median, key=median.get)
        loser = max(median, key=median.get)
        gap = median[loser] / median[winner] - 1
        tie = gap < max(args.tie, spread)
        model = models.pop()
        rows.append({"size": first["size"], "ring_us": median["ring"], "tree_us": median["tree"],
                     "spread": spread, "winner": winner, "gap": gap, "tie": tie,
                     "model": model, "match": model == winner, "right": model == winner or tie})
    return {"nranks": nranks, "hosts": hosts, "rounds": args.rounds,
            "cost_source": rounds[0]["algo"]["cost_source"], "rows": rows,
            "matched": sum(r["match"] for r in rows), "right": sum(r["right"] for r in rows),
            "ties": sum(r["tie"] for r in rows), "sizes": len(rows)}


def markdown(results, args):
    lines = []
    for res in results:
        lines.append(f"\n{res['nranks']} ranks on {res['hosts']} posed hosts, {res['rounds']} "
                     f"rounds, -n {args.iters} -w {args.warmup}; costs: {res['cost_source']}\n")
        lines.append("| size (B) | ring (us) | tree (us) | spread | measured | gap | model | right |")
        lines.append("|---:|---:|---:|---:|---|---:|---|---|")
        for r in res["rows"]:
            verdict = "yes" if r["match"] else ("tie" if r["tie"] else "**no**")
            lines.append(f"| {r['size']} | {r['ring_us']:.1f} | {r['tree_us']:.1f} | "
                         f"{100 * r['spread']:.0f}% | {r['winner']} | {100 * r['gap']:.0f}% | "
                         f"{r['model']} | {verdict} |")
        lines.append(f"\nmodel = measured winner at {res['matched']} of {res['sizes']} sizes; "
                     f"right counting ties ({res['ties']} sizes) at {res['right']} of "
                     f"{res['sizes']} ({100 * res['right'] / res['sizes']:.0f}%)")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--ranks", default="2,4,8")
    parser.add_argument("--hosts", default="", help="hosts per rank count, e.g. 2,4,8 (default: "
                        "one rank per host)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--min", default="8")
    parser.add_argument("--max", default="64M")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--tie", type=float, default=0.05,
                        help="smallest relative gap that is not a tie")
    parser.add_argument("--cost-file", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--markdown", default="")
    args = parser.parse_args()
    ranks = [int(r) for r in args.ranks.split(",")]
    hosts = [int(h) for h in args.hosts.split(",")] if args.hosts else ranks
    if len(hosts) != len(ranks):
        sys.exit("selection.py: --hosts needs one entry per --ranks entry")
    results = [evaluate(args, n, h) for n, h in zip(ranks, hosts)]
    text = markdown(results, args)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as file:
            file.write(text)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
