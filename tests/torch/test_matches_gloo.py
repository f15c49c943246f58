"""all_reduce over "tutti" and over "gloo" in the same processes give identical tensors for
random integer-valued float32 and float64 data (exact in any summation order), every op gloo
shares with Tutti, small to large counts.

    /usr/bin/python3 test_matches_gloo.py NRANKS [env|tcp]
"""
import torch
import torch.distributed as dist

from launch import main

OPS = {"SUM": dist.ReduceOp.SUM, "PRODUCT": dist.ReduceOp.PRODUCT, "MIN": dist.ReduceOp.MIN,
       "MAX": dist.ReduceOp.MAX}


def worker(rank, n):
    gloo = dist.new_group(backend="gloo")
    sizes = torch.Generator().manual_seed(1)  # the same counts on every rank
    mine = torch.Generator().manual_seed(1000 + rank)  # each rank's own data
    compared, failed = 0, []
    for dtype in (torch.float32, torch.float64):
        for name, op in OPS.items():
            for count in [1, 7] + torch.randint(1, 1 << 20, (3,), generator=sizes).tolist():
                bound = 3 if name == "PRODUCT" else 1 << 20  # products stay exact
                x = torch.randint(-bound, bound, (count,), generator=mine).to(dtype)
                a, b = x.clone(), x.clone()
                dist.all_reduce(a, op=op)
                dist.all_reduce(b, op=op, group=gloo)
                compared += 1
                if not torch.equal(a, b):
                    failed.append(f"{dtype} {name} count {count}: "
                                  f"{(a != b).sum().item()} elements differ")
                if n > 1 and torch.equal(a, x) and name == "SUM":
                    failed.append(f"{dtype} {name} count {count}: the tensor did not change")
    print(f"rank {rank}: {compared} all_reduce calls compared with gloo, {len(failed)} differ")
    for f in failed:
        print(f"rank {rank}: FAILED {f}")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main(worker)
