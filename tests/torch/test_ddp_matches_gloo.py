"""DDP over "tutti" trains exactly as DDP over "gloo": an MLP on the UCI digits (the data the C
example uses), each rank its shard, small buckets so that several all-reduces overlap the
backward pass; after every step the loss and every parameter must be bit-identical (2 ranks: a
sum of two is the same in any order), and so the test accuracy.

DDP's constructor broadcasts twice (the parameter shapes in _verify_param_shape_across_processes,
rank 0's model in _sync_module_states), and broadcast is not in this tree's C API yet; the models
start identical here (same seed on every rank), so the test replaces both with all_gather checks
that shapes and values are identical, and keeps DDP's first buckets (find_unused_parameters;
rebuilding them broadcasts too). Everything after them (the reducer's bucketed all-reduces,
their futures, the overlap with backward) is DDP's own.

    /usr/bin/python3 test_ddp_matches_gloo.py 2 [env|tcp]    (DIGITS_CSV_GZ: the data file)
"""
import gzip
import os

import torch
import torch.distributed as dist
import torch.nn.parallel.distributed as ddp_module
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


def check_shapes(process_group, tensors, logger=None):
    shapes = torch.tensor([d for t in tensors for d in (t.dim(), *t.shape)], dtype=torch.int64)
    assert same_on_every_rank(shapes, process_group), "parameter shapes differ across ranks"


def check_states(module, process_group, *args, **kwargs):
    assert all(same_on_every_rank(p, process_group) for p in module.state_dict().values()), \
        "models differ at start"


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                               torch.nn.ReLU(), torch.nn.Linear(64, 10))


def worker(rank, n):
    ddp_module._verify_param_shape_across_processes = check_shapes
    ddp_module._sync_module_states = check_states
    gloo = dist.new_group(backend="gloo")
    x, y = load_digits()
    train_x, train_y, test_x, test_y = x[:1500], y[:1500], x[1500:], y[1500:]
    runs = {}
    for name, group in (("tutti", None), ("gloo", gloo)):
        # find_unused_parameters: DDP then keeps its first buckets (rebuilding them after the
        # first step broadcasts the new order).
        model = DDP(make_model(), process_group=group, bucket_cap_mb=0.01,
                    broadcast_buffers=False, find_unused_parameters=True)
        runs[name] = (model, torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9))
    failures = []
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
        a, b = (list(runs[k][0].parameters()) for k in ("tutti", "gloo"))
        if losses["tutti"][-1] != losses["gloo"][-1] or not all(
                torch.equal(p, q) for p, q in zip(a, b)):
            diff = max((p - q).abs().max().item() for p, q in zip(a, b))
            failures.append(f"step {step}: losses {losses['tutti'][-1]} vs {losses['gloo'][-1]}, "
                            f"largest parameter difference {diff}")
    accuracy = {}
    with torch.no_grad():
        for name, (model, _) in runs.items():
            accuracy[name] = (model.module(test_x).argmax(1) == test_y).float().mean().item()
    print(f"rank {rank}: loss tutti {losses['tutti'][0]:.4f} -> {losses['tutti'][-1]:.4f}, "
          f"gloo {losses['gloo'][0]:.4f} -> {losses['gloo'][-1]:.4f}; test accuracy tutti "
          f"{accuracy['tutti']:.4f}, gloo {accuracy['gloo']:.4f}")
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
