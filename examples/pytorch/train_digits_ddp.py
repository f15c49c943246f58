"""DDP training of a small MLP on the UCI digits (the data examples/digits/train_digits.c
uses) over a torch.distributed backend: "tutti" or "gloo", on N local processes.

The global batch is split among the ranks and DDP averages the gradients, so every process count
follows the same trajectory up to the rounding of float sums taken in another order: the loss
curves of 1, 2 and 4 processes, over tutti or over gloo, should agree closely and the test
accuracy should be the same.

    /usr/bin/python3 train_digits_ddp.py --backend tutti --nprocs 4 [--data PATH] [--json OUT]
    torchrun --nproc_per_node 4 train_digits_ddp.py [--backend tutti] [--data PATH]
    srun -n 4 /usr/bin/python3 train_digits_ddp.py [--backend tutti]
    mpirun -np 4 -x MASTER_ADDR=host -x MASTER_PORT=29500 /usr/bin/python3 train_digits_ddp.py
        one rank per process, started by a launcher: without --nprocs the program takes its
        rank and the world size from torchrun's RANK/WORLD_SIZE, Open MPI's
        OMPI_COMM_WORLD_RANK/SIZE or srun's SLURM_PROCID/SLURM_NTASKS (in that order), and
        joins with init_method env:// (MASTER_ADDR/MASTER_PORT: torchrun's; under srun, when
        unset, the step's first node and a port from SLURM_JOB_ID and SLURM_STEP_ID; under
        mpirun, when unset, 127.0.0.1 and 29500).
    /usr/bin/python3 train_digits_ddp.py --compare [--nprocs-list 1,2,4] [--tolerance 1e-4]
        runs tutti and gloo for each process count, prints the loss curves side by side and
        fails when a loss differs from tutti's 1-process loss by more than the tolerance or an
        accuracy differs.

PYTHONPATH must reach tutti_torch (the build directory) for --backend tutti.
"""
import argparse
import gzip
import json
import os
import socket
import sys
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

DEFAULT_DATA = os.environ.get(
    "DIGITS_CSV_GZ", "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz")
TRAIN = 1500  # the first 1500 images train, the other 297 test
GLOBAL_BATCH = 64  # divides among 1, 2, 4 (and 8, 16, 32, 64) processes
EPOCHS = 4
LR = 0.1


def load_digits(path):
    with gzip.open(path, "rt") as f:
        rows = [[float(v) for v in line.split(",")] for line in f if line.strip()]
    data = torch.tensor(rows)
    return data[:, :64] / 16.0, data[:, 64].long()


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32),
                               torch.nn.ReLU(), torch.nn.Linear(32, 10))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_first_host(nodelist):
    """The first host of a Slurm node list: "node[07-09,12],gpu3" -> "node07"."""
    host, i = "", 0
    while i < len(nodelist) and nodelist[i] != ",":
        if nodelist[i] != "[":
            host += nodelist[i]
            i += 1
            continue
        close = nodelist.index("]", i)
        host += nodelist[i + 1:close].split(",")[0].split("-")[0]
        i = close + 1
    return host


def launcher_rank():
    """(rank, world size, which variables) when a launcher started this process as one rank,
    else None. Sets MASTER_ADDR and MASTER_PORT for env:// where the launcher did not."""
    env = os.environ
    for rank_var, size_var in (("RANK", "WORLD_SIZE"),
                               ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                               ("SLURM_PROCID", "SLURM_NTASKS")):
        if rank_var in env and size_var in env:
            break
    else:
        return None
    if rank_var == "SLURM_PROCID":
        # srun's default block distribution puts task 0 on the step's first node.
        nodelist = env.get("SLURM_STEP_NODELIST", env.get("SLURM_JOB_NODELIST", "127.0.0.1"))
        env.setdefault("MASTER_ADDR", slurm_first_host(nodelist))
        # The port tutti-perf derives too (perf/bench/perf_slurm.h): [12000, 32000) from the
        # job and step ids, the same in every task of the step.
        job, step = int(env.get("SLURM_JOB_ID", "0")), int(env.get("SLURM_STEP_ID", "0"))
        env.setdefault("MASTER_PORT", str(12000 + (job * 64 + step % 64) % 20000))
    env.setdefault("MASTER_ADDR", "127.0.0.1")
    env.setdefault("MASTER_PORT", "29500")
    return int(env[rank_var]), int(env[size_var]), f"{rank_var}/{size_var}"


def rank_main(rank, nprocs, backend, port, data_path, out_path):
    if backend == "tutti":
        import tutti_torch  # noqa: F401  (registers "tutti")
    torch.set_num_threads(1)  # the processes share the machine's cores
    # port None: started by a launcher, MASTER_ADDR/MASTER_PORT in the environment.
    init = "env://" if port is None else f"tcp://127.0.0.1:{port}"
    dist.init_process_group(backend, init_method=init, rank=rank, world_size=nprocs)
    x, y = load_digits(data_path)
    train_x, train_y, test_x, test_y = x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:]
    model = DDP(make_model())
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    local = GLOBAL_BATCH // nprocs
    order = torch.Generator().manual_seed(1)  # the same shuffles on every rank
    losses = []
    for _ in range(EPOCHS):
        perm = torch.randperm(TRAIN, generator=order)
        for start in range(0, TRAIN - GLOBAL_BATCH + 1, GLOBAL_BATCH):
            idx = perm[start + rank * local:start + (rank + 1) * local]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(train_x[idx]), train_y[idx])
            loss.backward()  # DDP averages the gradients over the ranks
            opt.step()
            # The global batch's mean loss, for the curve.
            total = loss.detach().clone()
            dist.all_reduce(total)
            losses.append(total.item() / nprocs)
    with torch.no_grad():
        accuracy = (model.module(test_x).argmax(1) == test_y).float().mean().item()
    if rank == 0 and out_path:
        with open(out_path, "w") as f:
            json.dump({"backend": backend, "nprocs": nprocs, "losses": losses,
                       "accuracy": accuracy}, f)
    dist.destroy_process_group()


def train(backend, nprocs, data_path, out_path):
    mp.spawn(rank_main, args=(nprocs, backend, free_port(), data_path, out_path),
             nprocs=nprocs, join=True)
    with open(out_path) as f:
        return json.load(f)


def compare(args):
    counts = [int(c) for c in args.nprocs_list.split(",")]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for nprocs in counts:
            for backend in ("tutti", "gloo"):
                out = os.path.join(tmp, f"{backend}_{nprocs}.json")
                runs[(backend, nprocs)] = train(backend, nprocs, args.data, out)
    reference = runs[("tutti", counts[0])]
    steps = len(reference["losses"])
    keys = [(b, n) for n in counts for b in ("tutti", "gloo")]
    print("step " + " ".join(f"{b}x{n:<2}".rjust(11) for b, n in keys))
    for step in sorted(set(range(0, steps, max(1, steps // 12))) | {steps - 1}):
        print(f"{step:4d} " + " ".join(f"{runs[k]['losses'][step]:11.6f}" for k in keys))
    print("acc  " + " ".join(f"{runs[k]['accuracy']:11.4f}" for k in keys))
    failures = []
    for key in keys:
        diff = max(abs(a - b) for a, b in zip(runs[key]["losses"], reference["losses"]))
        print(f"{key[0]} x{key[1]}: largest loss difference from tutti x{counts[0]}: {diff:.3g}")
        if diff > args.tolerance:
            failures.append(f"{key[0]} x{key[1]}: loss differs by {diff:.3g} > {args.tolerance}")
        if runs[key]["accuracy"] != reference["accuracy"]:
            failures.append(f"{key[0]} x{key[1]}: test accuracy {runs[key]['accuracy']:.4f}, "
                            f"tutti x{counts[0]}: {reference['accuracy']:.4f}")
    first, last = reference["losses"][0], sum(reference["losses"][-10:]) / 10
    if not last < 0.3 * first:
        failures.append(f"loss {first:.3f} -> {last:.3f}: the model did not train")
    for f in failures:
        print("FAILED", f)
    print("compare:", "FAILED" if failures else f"passed (tolerance {args.tolerance})")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("tutti", "gloo"), default="tutti")
    parser.add_argument("--nprocs", type=int,
                        help="processes to spawn (default 2, or one rank of a launcher)")
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--json", help="where rank 0 writes the loss curve and accuracy")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--nprocs-list", default="1,2,4")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest loss difference --compare accepts")
    args = parser.parse_args()
    if args.compare:
        return compare(args)
    launched = launcher_rank() if args.nprocs is None else None
    if launched is not None:
        rank, nprocs, source = launched
        print(f"rank {rank} of {nprocs} ({source}), pid {os.getpid()}, "
              f"{args.backend} at {os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}",
              flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = args.json or os.path.join(tmp, "result.json")
            rank_main(rank, nprocs, args.backend, None, args.data, out)
            if rank != 0:
                return 0
            with open(out) as f:
                result = json.load(f)
    else:
        args.nprocs = args.nprocs or 2
        with tempfile.TemporaryDirectory() as tmp:
            result = train(args.backend, args.nprocs, args.data,
                           args.json or os.path.join(tmp, "result.json"))
    losses = result["losses"]
    print(f"{args.backend} x{result['nprocs']}: {len(losses)} steps, loss {losses[0]:.4f} -> "
          f"{losses[-1]:.4f}, test accuracy {result['accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
