"""DDP training step time, "tutti" beside "gloo", measured in one run: the same processes hold a
DDP replica of one model per backend (same initial weights, same batches) and time their steps
alternately, so both see the same machine load. Prints one table per process count: the median
over rounds of the slowest rank's mean step time, and the largest parameter difference between
the two replicas after all steps (they see the same data, so only summation order may differ).

    PYTHONPATH=<build> /usr/bin/python3 perf/compare/torch_ddp_step.py [--nprocs 2,4]
        [--width 2048] [--batch 32] [--steps 5] [--rounds 5] [--bucket-mb 25]

The model is an MLP of about 10 M float32 parameters by default (1024 -> width -> width ->
1536, ReLU): its gradients are 38 MiB per step, all-reduced in DDP's buckets while the backward
pass runs. One compute thread per process (torch.set_num_threads(1)).
"""
import argparse
import os
import socket
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_model(width):
    torch.manual_seed(1234)  # every rank and both backends start from the same weights
    return torch.nn.Sequential(torch.nn.Linear(1024, width), torch.nn.ReLU(),
                               torch.nn.Linear(width, width), torch.nn.ReLU(),
                               torch.nn.Linear(width, 1536))


def timed_steps(model, optimizer, batches, group):
    dist.barrier(group=group)
    start = time.perf_counter()
    for inputs, targets in batches:
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()  # DDP all-reduces gradient buckets as they become ready
        optimizer.step()
    return (time.perf_counter() - start) / len(batches)


def rank_main(rank, nprocs, port, args, queue):
    import tutti_torch  # noqa: F401  (registers "tutti")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=nprocs)
    names = ("tutti", "gloo")
    groups = {"tutti": dist.new_group(backend="tutti"), "gloo": dist.new_group(backend="gloo")}
    replicas = {}
    for name in names:
        model = DDP(make_model(args.width), process_group=groups[name],
                    bucket_cap_mb=args.bucket_mb)
        replicas[name] = (model, torch.optim.SGD(model.parameters(), lr=1e-3))
    generator = torch.Generator().manual_seed(rank)
    rounds = {name: [] for name in names}
    for round_index in range(args.rounds + 1):  # round 0 warms up
        batches = [(torch.randn(args.batch, 1024, generator=generator),
                    torch.randn(args.batch, 1536, generator=generator))
                   for _ in range(args.steps)]
        for name in names:
            model, optimizer = replicas[name]
            seconds = torch.tensor([timed_steps(model, optimizer, batches, groups[name])],
                                   dtype=torch.float64)
            dist.all_reduce(seconds, op=dist.ReduceOp.MAX, group=groups["gloo"])
            if round_index > 0:
                rounds[name].append(seconds.item())
    params = [dict(replicas[name][0].module.named_parameters()) for name in names]
    diff = max((params[0][key] - params[1][key]).abs().max().item() for key in params[0])
    count = sum(p.numel() for p in params[0].values())
    if rank == 0:
        queue.put({"median": {name: statistics.median(rounds[name]) for name in names},
                   "rounds": rounds, "max_param_diff": diff, "parameters": count})
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nprocs", default="2,4")
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round and backend")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bucket-mb", type=float, default=25.0, help="DDP bucket_cap_mb")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs; DDP step (forward, backward with "
          f"bucketed gradient all-reduce, SGD step) on CPU tensors; slowest rank's mean per "
          f"round, median of {args.rounds} interleaved rounds of {args.steps} steps")
    for nprocs in (int(n) for n in args.nprocs.split(",")):
        ctx = mp.get_context("spawn")
        queue = ctx.SimpleQueue()
        mp.start_processes(rank_main, args=(nprocs, free_port(), args, queue), nprocs=nprocs,
                           join=True, start_method="spawn")
        result = queue.get()
        tutti, gloo = result["median"]["tutti"], result["median"]["gloo"]
        print(f"\n{nprocs} processes, {result['parameters'] / 1e6:.2f} M parameters, "
              f"batch {args.batch}")
        print(f"{'tutti ms':>10} {'gloo ms':>10} {'gloo/tutti':>11} {'max |param diff|':>17}")
        print(f"{tutti * 1e3:10.1f} {gloo * 1e3:10.1f} {gloo / tutti:11.2f} "
              f"{result['max_param_diff']:17.3g}")
        print("rounds (ms): tutti " +
              " ".join(f"{t * 1e3:.0f}" for t in result["rounds"]["tutti"]) + "; gloo " +
              " ".join(f"{t * 1e3:.0f}" for t in result["rounds"]["gloo"]))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
