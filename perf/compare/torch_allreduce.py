"""torch.distributed all_reduce time per size, "tutti" beside "gloo", measured in one run: the
same processes hold a group of each backend and time them alternately per size, so both see the
same machine load. Prints one table per process count (the median over ranks' mean per-call
times; the slowest rank's, as a collective ends with it).

    PYTHONPATH=<build> /usr/bin/python3 perf/compare/torch_allreduce.py [--nprocs 2,4]
        [--min-bytes 8] [--max-bytes 64M] [--dtype float32] [--budget-ms 150]
        [--backends tutti,gloo]

Each size runs a few warm-up calls, then as many timed calls as fit the budget (at least 3,
at most 1000), each rank starting together after a barrier of its group.
"""
import argparse
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

DTYPES = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int32}


def parse_bytes(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def sizes(lo, hi):
    size = lo
    while size <= hi:
        yield size
        size *= 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_calls(tensor, group, budget_s):
    for _ in range(3):
        dist.all_reduce(tensor, group=group)
    dist.barrier(group=group)
    start = time.perf_counter()
    dist.all_reduce(tensor, group=group)
    one = time.perf_counter() - start
    iters = max(3, min(1000, int(budget_s / max(one, 1e-6))))
    # Every rank must run the same count: rank 0's choice, agreed over the group.
    agreed = torch.tensor([iters], dtype=torch.int64)
    dist.broadcast(agreed, src=0, group=group)
    iters = int(agreed.item())
    dist.barrier(group=group)
    start = time.perf_counter()
    for _ in range(iters):
        dist.all_reduce(tensor, group=group)
    return (time.perf_counter() - start) / iters


def rank_main(rank, nprocs, port, args, queue):
    import tutti_torch  # noqa: F401  (registers "tutti")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=nprocs)
    # A backend left out gets no group at all, so nothing of it (threads, sockets) runs beside
    # the other: run each alone to see whether the two disturb each other.
    groups = {"gloo": dist.new_group(backend="gloo")}
    if "tutti" in args.backends:
        groups["tutti"] = dist.new_group(backend="tutti")
    dtype = DTYPES[args.dtype]
    elem = torch.tensor([], dtype=dtype).element_size()
    rows = []
    for size in sizes(max(elem, args.min_bytes), args.max_bytes):
        tensor = torch.ones(size // elem, dtype=dtype)
        row = [size]
        for name in ("tutti", "gloo"):
            if name not in args.backends:
                row.append(float("nan"))
                continue
            seconds = torch.tensor([time_calls(tensor, groups[name], args.budget_ms / 1e3)],
                                   dtype=torch.float64)
            # The slowest rank's mean: a collective is done when its last rank is.
            dist.all_reduce(seconds, op=dist.ReduceOp.MAX, group=groups["gloo"])
            row.append(seconds.item())
        rows.append(row)
    if rank == 0:
        queue.put(rows)
    dist.destroy_process_group()


def human(size):
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size // scale} {unit}"
    return f"{size} B"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nprocs", default="2,4")
    parser.add_argument("--min-bytes", type=parse_bytes, default=8)
    parser.add_argument("--max-bytes", type=parse_bytes, default=64 << 20)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--backends", type=lambda text: text.split(","), default=["tutti", "gloo"],
                        help="comma-separated subset of tutti,gloo to time")
    parser.add_argument("--budget-ms", type=float, default=150.0,
                        help="time to spend per size and backend")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, dtype {args.dtype}, "
          f"all_reduce SUM on CPU tensors; time per call, slowest rank")
    for nprocs in (int(n) for n in args.nprocs.split(",")):
        ctx = mp.get_context("spawn")
        queue = ctx.SimpleQueue()
        mp.start_processes(rank_main, args=(nprocs, free_port(), args, queue), nprocs=nprocs,
                           join=True, start_method="spawn")
        rows = queue.get()
        print(f"\n{nprocs} processes")
        print(f"{'size':>10} {'tutti us':>12} {'gloo us':>12} {'gloo/tutti':>11}")
        for size, tutti, gloo in rows:
            print(f"{human(size):>10} {tutti * 1e6:12.1f} {gloo * 1e6:12.1f} {gloo / tutti:11.2f}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
