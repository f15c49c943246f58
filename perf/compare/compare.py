#!/usr/bin/env python3
"""Side-by-side benchmark: Tutti (tutti-perf) against OpenMPI and Gloo, interleaved in one run.

Every library runs the same sizes, rank counts, warm-up and iteration counts; rounds alternate
between libraries and the median time of the rounds is reported per size, with busbw (nccl-tests'
definition) and the ratio Tutti/peer of busbw. Two settings: "shm" (each library's best on one
host: OpenMPI's default shared-memory BTL, Tutti's automatic transport) and "tcp" (OpenMPI
--mca btl self,tcp, Gloo TCP, TUTTI_TRANSPORT=tcp), all over loopback.

Gloo has no shared-memory transport: in the "shm" setting it runs over TCP on loopback, which
is the best Gloo offers on one host, so it stays in that table as the peer to beat.

Usage: perf/compare/compare.py [--build DIR] [--ranks 2,4] [--rounds 3] [--max 64M] [--iters 10]
       [--collectives all_reduce,...,scatter] [--mpi-tuned]
       [--factor 2] [--warmup 5] [--json FILE] [--plot FILE.png] [--no-build]
The build step (cmake --build of tutti-perf and the peers) runs first unless --no-build.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def size_arg(text):
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


# busbw / algbw per (collective, ranks), as tutti-perf's --json reports it: the factor has one
# definition (src/testing/nccl_tests.h), which every library's busbw here is computed with.
BUSBW_FACTOR = {}


def run(cmd, env=None, timeout=900):
    full_env = dict(os.environ)
    full_env.update(env or {})
    out = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        sys.stderr.write(f"command failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr}\n")
        return ""
    return out.stdout


def parse_results(text):
    """RESULT <coll> <lib> <bytes> <time_us> lines -> {bytes: time_us}."""
    times = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "RESULT":
            times[int(parts[3])] = float(parts[4])
    return times


def tutti(build, coll, n, args, transport):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {"TUTTI_TRANSPORT": transport} if transport else {}
        text = run([f"{build}/perf/tutti-perf", coll, "-np", str(n), "-b", str(args.min),
                    "-e", str(args.max), "-f", str(args.factor), "-n", str(args.iters), "-w", str(args.warmup), "-c", "0",
                    "--json", out.name], env)
        if not text:
            return {}
        data = json.load(open(out.name))
        BUSBW_FACTOR[(coll, n)] = data["busbw_factor"]
        # Out-of-place times: the peers' calls are out of place too.
        return {r["size"]: r["out_of_place"]["time_us"] for r in data["results"]}


# tutti-perf's collective -> the name of OpenMPI's coll_tuned_<name>_algorithm parameter for the
# call mpi_bench.c makes.
MPI_TUNED_NAME = {"all_reduce": "allreduce", "all_gather": "allgather",
                  "reduce_scatter": "reduce_scatter_block", "broadcast": "bcast",
                  "reduce": "reduce", "alltoall": "alltoall", "gather": "gather",
                  "scatter": "scatter"}


def mpi_algorithms(coll):
    """{number: name} of OpenMPI's tuned algorithms for coll, as this OpenMPI's ompi_info lists
    them ("Valid values: 0:"ignore", 1:"basic_linear", ..."); {} when it cannot say."""
    if not shutil.which("ompi_info"):
        return {}
    text = run(["ompi_info", "--param", "coll", "tuned", "--level", "9"])
    wanted = f'"coll_tuned_{MPI_TUNED_NAME[coll]}_algorithm"'
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if wanted not in line:
            continue
        # The parameter's line, its description, then "Valid values: ..." (before the next one).
        for follow in lines[i + 1:i + 6]:
            if "MCA coll tuned: parameter" in follow:
                return {}
            if "Valid values:" not in follow:
                continue
            values = follow.split("Valid values:", 1)[1]
            algos = {}
            for item in values.split(","):
                number, _, name = item.strip().partition(":")
                if number.strip().isdigit() and int(number) > 0:
                    algos[int(number)] = name.strip().strip('"')
            return algos
        return {}
    return {}


def mpi(build, coll, n, args, tcp, algorithm=None):
    exe = f"{build}/perf/tutti-compare-mpi"
    if not os.path.exists(exe) or not shutil.which("mpirun"):
        return None
    cmd = ["mpirun", "--oversubscribe", "-np", str(n)]
    if tcp:
        cmd += ["--mca", "btl", "self,tcp"]
    if algorithm is not None:
        cmd += ["--mca", "coll_tuned_use_dynamic_rules", "1",
                "--mca", f"coll_tuned_{MPI_TUNED_NAME[coll]}_algorithm", str(algorithm)]
    cmd += [exe, coll, str(args.min), str(args.max), str(args.factor), str(args.iters),
            str(args.warmup)]
    return parse_results(run(cmd, MPI_ENV))


def gloo(build, coll, n, args, algo):
    exe = f"{build}/perf/tutti-compare-gloo"
    if not os.path.exists(exe):
        return None
    store = tempfile.mkdtemp(prefix="gloo-store-")
    procs = [subprocess.Popen([exe, str(r), str(n), store, coll, algo, str(args.min),
                               str(args.max), str(args.factor), str(args.iters), str(args.warmup)],
                              stdout=subprocess.PIPE, text=True) for r in range(n)]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    shutil.rmtree(store, ignore_errors=True)
    return parse_results(outputs[0]) if all(p.returncode == 0 for p in procs) else {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--ranks", default="2,4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min", type=size_arg, default=8)
    parser.add_argument("--max", type=size_arg, default=64 << 20)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--factor", type=int, default=2, help="size step factor")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls per size")
    parser.add_argument("--settings", default="shm,tcp")
    parser.add_argument("--collectives", default="all_reduce,all_gather,reduce_scatter",
                        help="tutti-perf collective names, comma-separated (also broadcast, "
                             "reduce, alltoall, gather, scatter)")
    parser.add_argument("--mpi-tuned", action="store_true",
                        help="also run every OpenMPI tuned algorithm (coll_tuned_*_algorithm, "
                             "as ompi_info lists them) and report the best per size")
    parser.add_argument("--json", help="write every median time here")
    parser.add_argument("--plot", help="PNG of busbw against size per library (needs gnuplot)")
    parser.add_argument("--no-build", action="store_true", help="use the build as it is")
    args = parser.parse_args()

    if not args.no_build:
        targets = ["tutti-perf", "tutti-compare-limits", "tutti-compare-mpi", "tutti-compare-gloo"]
        if not os.path.exists(os.path.join(args.build, "CMakeCache.txt")):
            subprocess.run(["cmake", "-S", ROOT, "-B", args.build,
                            "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True,
                           stdout=subprocess.DEVNULL)
        for target in targets:  # the peers are optional: a missing one is skipped later
            subprocess.run(["cmake", "--build", args.build, "-j", str(os.cpu_count() or 2),
                            "--target", target], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    report = {"limits": {}, "tables": []}

    print("# Physical limits (same run)")
    limits = run([f"{args.build}/perf/tutti-compare-limits"])
    for line in limits.splitlines():
        _, kind, threads, gbps = line.split()
        report["limits"][f"{kind}_{threads}t_GBps"] = float(gbps)
        print(f"- {kind} bandwidth, {threads} thread(s): {gbps} GB/s (bytes read + written)")
    if shutil.which("iperf3"):
        server = subprocess.Popen(["iperf3", "-s", "-p", "5299"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            import time
            time.sleep(0.5)
            for streams in (1, 2):
                out = run(["iperf3", "-c", "127.0.0.1", "-p", "5299", "-t", "3", "-P",
                           str(streams), "-J"])
                if out:
                    bps = json.loads(out)["end"]["sum_received"]["bits_per_second"]
                    report["limits"][f"iperf3_{streams}streams_GBps"] = bps / 8e9
                    print(f"- iperf3 loopback, {streams} stream(s): {bps / 8e9:.2f} GB/s")
        finally:
            server.terminate()
            server.wait()
    for setting in args.settings.split(","):
        tcp = setting == "tcp"
        for n in [int(x) for x in args.ranks.split(",")]:
            for coll in args.collectives.split(","):
                libs = {"tutti": lambda: tutti(args.build, coll, n, args, "tcp" if tcp else "")}
                libs["openmpi"] = lambda: mpi(args.build, coll, n, args, tcp)
                tuned = mpi_algorithms(coll) if args.mpi_tuned else {}
                for number, name in tuned.items():
                    libs[f"mpi_{name}"] = (lambda a=number: mpi(args.build, coll, n, args, tcp, a))
                # Gloo runs over TCP in both settings (it has no shared-memory transport).
                if coll == "all_reduce":
                    for algo in ["ring", "ring_chunked", "halving_doubling"]:
                        libs[f"gloo_{algo}"] = (lambda a=algo: gloo(args.build, coll, n, args, a))
                elif coll == "all_gather":
                    libs["gloo_ring"] = lambda: gloo(args.build, coll, n, args, "ring")
                rounds = {name: [] for name in libs}
                for _ in range(args.rounds):  # interleaved: one sweep of each library per round
                    for name, measure in libs.items():
                        result = measure()
                        if result is not None:
                            rounds[name].append(result)
                median = {}
                for name, results in rounds.items():
                    sizes = set.intersection(*(set(r) for r in results)) if results else set()
                    median[name] = {s: statistics.median(r[s] for r in results) for s in sizes}
                # OpenMPI's best tuned algorithm per size, one column (each one's times stay in
                # the JSON); best_alg says which won.
                tuned_names = [f"mpi_{name}" for name in tuned.values() if median[f"mpi_{name}"]]
                best_alg = {}
                if tuned_names:
                    best = {}
                    for size in set.union(*(set(median[t]) for t in tuned_names)):
                        t, winner = min((median[t][size], t) for t in tuned_names
                                        if size in median[t])
                        best[size], best_alg[size] = t, winner[len("mpi_"):]
                    median["openmpi_best"] = best
                    libs["openmpi_best"] = None
                names = [name for name in libs if median.get(name) and name not in tuned_names]
                factor = BUSBW_FACTOR.get((coll, n))  # None when tutti-perf failed every round
                report["tables"].append({"collective": coll, "ranks": n, "setting": setting,
                                         "busbw_factor": factor,
                                         "median_time_us": {name: {str(k): v for k, v in
                                                                   median[name].items()}
                                                            for name in names + tuned_names},
                                         "openmpi_best_algorithm": {str(k): v for k, v in
                                                                    best_alg.items()}})
                if "tutti" not in names:
                    print(f"\n## {coll}, {n} ranks, {setting}: tutti-perf failed")
                    continue
                print(f"\n## {coll}, {n} ranks, {setting} (float32 sum, root 0; median of {args.rounds} "
                      f"interleaved rounds; busbw GB/s, time us; ratio = Tutti busbw / peer busbw)")
                header = f"| {'size':>10} |" + "".join(f" {name} busbw | {name} us |" for name in names)
                header += "".join(f" tutti/{name} |" for name in names if name != "tutti")
                header += " openmpi best algorithm |" if best_alg else ""
                print(header)
                print("|" + "---|" * (1 + 2 * len(names) + len(names) - 1 + bool(best_alg)))
                for size in sorted(median["tutti"]):
                    row = f"| {size:>10} |"
                    busbw = {}
                    for name in names:
                        t = median[name].get(size)
                        busbw[name] = size / (t * 1e-6) / 1e9 * factor if t else None
                        row += (f" {busbw[name]:.3f} | {t:.1f} |" if t else " - | - |")
                    for name in names:
                        if name == "tutti":
                            continue
                        ok = busbw.get(name) and busbw.get("tutti")
                        row += f" {busbw['tutti'] / busbw[name]:.2f} |" if ok else " - |"
                    if best_alg:
                        row += f" {best_alg.get(size, '-')} |"
                    print(row, flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)
    if args.plot:
        plot(report, args.plot)


def plot(report, path):
    """One panel per (collective, ranks, setting): busbw against size, a line per library."""
    if not shutil.which("gnuplot"):
        sys.stderr.write("compare: gnuplot not found (Debian gnuplot-nox): no plot\n")
        return
    tables = report["tables"]
    cols = 3
    rows = (len(tables) + cols - 1) // cols
    work = tempfile.mkdtemp(prefix="compare-plot-")
    script = [f"set terminal pngcairo size {cols * 520},{rows * 380} font ',9'",
              f"set output '{path}'", f"set multiplot layout {rows},{cols}",
              "set logscale x 2", "set format x '%.0b%B'", "set xlabel 'size (bytes)'",
              "set ylabel 'busbw (GB/s)'", "set key top left", "set grid"]
    for i, table in enumerate(tables):
        if table["busbw_factor"] is None:  # tutti-perf failed: no factor, no panel
            continue
        script.append(f"set title '{table['collective']}, {table['ranks']} ranks, "
                      f"{table['setting']}' noenhanced")
        plots = []
        for name, times in table["median_time_us"].items():
            data = os.path.join(work, f"{i}-{name}.dat")
            with open(data, "w") as out:
                for size in sorted(times, key=int):
                    t = times[size]
                    out.write(f"{size} {int(size) / (t * 1e-6) / 1e9 * table['busbw_factor']}\n")
            plots.append(f"'{data}' using 1:2 with linespoints title '{name}' noenhanced")
        script.append("plot " + ", ".join(plots))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
    shutil.rmtree(work, ignore_errors=True)
    print(f"\n# plot: {path}")


if __name__ == "__main__":
    main()
