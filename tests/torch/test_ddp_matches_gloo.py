"""Plain DDP over "tutti" trains exactly as plain DDP over "gloo": an MLP with batch norm on the
UCI digits (the data the C example uses), each rank its shard, small buckets so that several
all-reduces overlap the backward pass. Nothing of DDP is replaced: each rank builds its model
from its own seed, so DDP's constructor must broadcast rank 0's parameters and buffers (checked:
every rank then holds rank 0's model); the batch norm's buffers are broadcast before every
forward (broadcast_buffers); the buckets are rebuilt after the first step (a broadcast of the
new order). After every step the loss and every parameter and buffer must be bit-identical to
gloo's (2 ranks: a sum of two is the same in any order), and so the test accuracy.

    /usr/bin/python3 test_ddp_matches_gloo.py 2 [env|tcp]    (DIGITS_CSV_GZ: the data file)
"""
import gzip
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from launch import main

DIGITS = os.environ.get("DIGITS_CSV_GZ",
                        "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz")
STEPS = 120
BATCH = 32  # per rank


def load_digits():
    with gzip.open(DIGITS, "rt") as f:
        rows = [[float(v) for v in line.split(",")] for line in f if line.strip()]
    data = torch.tensor(rows)
    return data[:, :64] / 16.0, data[:, 64].long()


def same_on_every_rank(tensor, group):
    gathered = [torch.empty_like(tensor) for _ in range(dist.get_world_size(group))]
    dist.all_gather(gathered, tensor.detach().contiguous(), group=group)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def make_model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.BatchNorm1d(128),
                               torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 10))


def state(model):
    return list(model.module.state_dict().values())


def worker(rank, n):
    gloo = dist.new_group(backend="gloo")
    x, y = load_digits()
    train_x, train_y, test_x, test_y = x[:1500], y[:1500], x[1500:], y[1500:]
    runs = {}
    failures = []
    rank0 = [t.clone() for t in make_model(1).state_dict().values()]
    for name, group in (("tutti", None), ("gloo", gloo)):
        model = DDP(make_model(1 + rank), process_group=group, bucket_cap_mb=0.01)
        if not all(torch.equal(a, b) for a, b in zip(state(model), rank0)):
            failures.append(f"{name}: after DDP's constructor the model is not rank 0's")
        runs[name] = (model, torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9))
    losses = {}
    for step in range(STEPS):
        start = ((step * n + rank) * BATCH) % (len(train_x) - BATCH)
        bx, by = train_x[start:start + BATCH], train_y[start:start + BATCH]
        for name, (model, opt) in runs.items():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(bx), by)
            loss.backward()
            opt.step()
            losses.setdefault(name, []).append(loss.item())
        a, b = (state(runs[k][0]) for k in ("tutti", "gloo"))
        if losses["tutti"][-1] != losses["gloo"][-1] or not all(
                torch.equal(p, q) for p, q in zip(a, b)):
            diff = max((p.double() - q.double()).abs().max().item() for p, q in zip(a, b))
            failures.append(f"step {step}: losses {losses['tutti'][-1]} vs {losses['gloo'][-1]}, "
                            f"largest parameter difference {diff}")
    accuracy = {}
    with torch.no_grad():
        for name, (model, _) in runs.items():
            model.module.eval()
            accuracy[name] = (model.module(test_x).argmax(1) == test_y).float().mean().item()
    print(f"rank {rank}: loss tutti {losses['tutti'][0]:.4f} -> {losses['tutti'][-1]:.4f}, "
          f"gloo {losses['gloo'][0]:.4f} -> {losses['gloo'][-1]:.4f}; test accuracy tutti "
          f"{accuracy['tutti']:.4f}, gloo {accuracy['gloo']:.4f}")
    # Parameters only: each rank's batch norm statistics are its own until the next forward
    # broadcasts rank 0's.
    if not all(same_on_every_rank(p, None) for p in runs["tutti"][0].parameters()):
        failures.append("tutti: the ranks' parameters differ after training")
    if accuracy["tutti"] != accuracy["gloo"]:
        failures.append("test accuracies differ")
    first, last = sum(losses["tutti"][:10]) / 10, sum(losses["tutti"][-10:]) / 10
    if not last < 0.6 * first:
        failures.append(f"mean loss {first:.3f} -> {last:.3f}: the model did not train")
    for f in failures[:10]:
        print(f"rank {rank}: FAILED {f}")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main(worker)
