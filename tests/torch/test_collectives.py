"""Exact results of every op of the "tutti" backend for every dtype, reduce op and count class
(0, 1, 2, primes, large), out of place and in place, with non-contiguous tensors, and the errors
for what Tutti lacks. Integer-valued data, so every result is exact whatever the summation order.

    /usr/bin/python3 test_collectives.py NRANKS [env|tcp]
"""
import time

import torch
import torch.distributed as dist

from launch import main

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.int32,
          torch.int64, torch.uint8]
OPS = {"SUM": dist.ReduceOp.SUM, "AVG": dist.ReduceOp.AVG, "PRODUCT": dist.ReduceOp.PRODUCT,
       "MIN": dist.ReduceOp.MIN, "MAX": dist.ReduceOp.MAX}
COUNTS = [0, 1, 2, 7, 131, 100003]

failures = []
checks = 0


def expect(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)


def values(rank, count, dtype, op, salt=0):
    """Rank's data as int64, small enough that every result fits every dtype exactly."""
    i = torch.arange(count, dtype=torch.int64)
    signed = dtype != torch.uint8
    if op == "PRODUCT":  # |product| <= 3^4 = 81 on 4 ranks
        table = torch.tensor([1, 2, -1, 1, 3, -1, 1] if signed else [1, 2, 1, 3, 1])
        return table[(i * 7 + rank * 3 + salt) % len(table)]
    v = (i * 5 + rank * 11 + salt * 3) % 17  # sums <= 64 on 4 ranks
    return v - 8 if signed else v


def reduced(nranks, count, dtype, op, salt=0):
    """What every rank must get: the reduction of all ranks' values, in dtype."""
    stack = torch.stack([values(r, count, dtype, op, salt) for r in range(nranks)])
    if op == "SUM":
        out = stack.sum(0)
    elif op == "PRODUCT":
        out = stack.prod(0)
    elif op == "MIN":
        out = stack.min(0).values
    elif op == "MAX":
        out = stack.max(0).values
    elif dtype.is_floating_point:  # AVG: the sum divided once (exact for 1, 2 and 4 ranks)
        out = stack.sum(0).double() / nranks
    else:  # AVG of integers truncates toward zero (tutti.h)
        out = torch.div(stack.sum(0), nranks, rounding_mode="trunc")
    return out.to(dtype)


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def check_all_reduce(rank, n):
    for dtype in DTYPES:
        for name, op in OPS.items():
            for count in COUNTS:
                t = values(rank, count, dtype, name).to(dtype)
                dist.all_reduce(t, op=op)
                expect(same(t, reduced(n, count, dtype, name)),
                       f"all_reduce {dtype} {name} count {count}")


def check_all_gather(rank, n):
    for dtype in DTYPES:
        for count in COUNTS:
            mine = values(rank, count, dtype, "SUM").to(dtype)
            sent = mine.clone()
            want = [values(r, count, dtype, "SUM").to(dtype) for r in range(n)]
            outs = [torch.full((count,), 99, dtype=dtype) for _ in range(n)]
            dist.all_gather(outs, mine)
            expect(all(same(o, w) for o, w in zip(outs, want)), f"all_gather {dtype} count {count}")
            expect(same(mine, sent), f"all_gather {dtype} count {count}: input changed")
            flat = torch.full((n * count,), 99, dtype=dtype)
            dist.all_gather_into_tensor(flat, mine)
            expect(same(flat, torch.cat(want)), f"all_gather_into_tensor {dtype} count {count}")
            # In place: the input is this rank's slice of the output.
            flat = torch.full((n * count,), 99, dtype=dtype)
            flat[rank * count:(rank + 1) * count] = mine
            dist.all_gather_into_tensor(flat, flat[rank * count:(rank + 1) * count])
            expect(same(flat, torch.cat(want)), f"in-place all_gather_into_tensor {dtype} {count}")


def check_reduce_scatter(rank, n):
    for dtype in DTYPES:
        for name, op in OPS.items():
            for count in COUNTS:
                # Input slice r (salt r) goes to rank r.
                inputs = [values(rank, count, dtype, name, salt=r).to(dtype) for r in range(n)]
                sent = [x.clone() for x in inputs]
                want = reduced(n, count, dtype, name, salt=rank)
                out = torch.full((count,), 99, dtype=dtype)
                dist.reduce_scatter(out, inputs, op=op)
                expect(same(out, want), f"reduce_scatter {dtype} {name} count {count}")
                expect(all(same(a, b) for a, b in zip(inputs, sent)),
                       f"reduce_scatter {dtype} {name} count {count}: inputs changed")
                flat = torch.cat(inputs)
                out = torch.full((count,), 99, dtype=dtype)
                dist.reduce_scatter_tensor(out, flat, op=op)
                expect(same(out, want), f"reduce_scatter_tensor {dtype} {name} count {count}")
                expect(same(flat, torch.cat(sent)), f"reduce_scatter_tensor {dtype}: input changed")
                # In place: the output is this rank's slice of the input.
                flat = torch.cat(inputs)
                dist.reduce_scatter_tensor(flat[rank * count:(rank + 1) * count], flat, op=op)
                expect(same(flat[rank * count:(rank + 1) * count], want),
                       f"in-place reduce_scatter_tensor {dtype} {name} count {count}")


def check_non_contiguous(rank, n):
    count = 131
    for dtype in (torch.float32, torch.int64, torch.bfloat16):
        # A column of a matrix: every third element; the others must stay as they were.
        base = torch.full((count, 3), 7, dtype=dtype)
        column = base[:, 1]
        column.copy_(values(rank, count, dtype, "SUM").to(dtype))
        dist.all_reduce(column)
        expect(same(base[:, 1].contiguous(), reduced(n, count, dtype, "SUM")),
               f"all_reduce of a column {dtype}")
        expect(bool((base[:, 0] == 7).all() and (base[:, 2] == 7).all()),
               f"all_reduce of a column {dtype}: its neighbours changed")
        # A transposed matrix.
        m = values(rank, 6 * count, dtype, "MAX").to(dtype).reshape(6, count).t()
        dist.all_reduce(m, op=dist.ReduceOp.MAX)
        want = reduced(n, 6 * count, dtype, "MAX").reshape(6, count).t()
        expect(same(m.contiguous(), want.contiguous()), f"all_reduce transposed {dtype}")
        # Gathers into columns, and from a column.
        mine = torch.full((count, 2), 5, dtype=dtype)[:, 0]
        mine.copy_(values(rank, count, dtype, "SUM").to(dtype))
        bases = [torch.full((count, 2), 5, dtype=dtype) for _ in range(n)]
        dist.all_gather([b[:, 1] for b in bases], mine)
        expect(all(same(b[:, 1].contiguous(), values(r, count, dtype, "SUM").to(dtype))
                   and bool((b[:, 0] == 5).all()) for r, b in enumerate(bases)),
               f"all_gather into columns {dtype}")
        out = torch.full((n * count, 2), 5, dtype=dtype)
        dist.all_gather_into_tensor(out[:, 0], mine)
        want = torch.cat([values(r, count, dtype, "SUM").to(dtype) for r in range(n)])
        expect(same(out[:, 0].contiguous(), want) and bool((out[:, 1] == 5).all()),
               f"all_gather_into_tensor into a column {dtype}")
        # Reduce-scatter from a column into a column.
        src = torch.full((n * count, 2), 5, dtype=dtype)
        src[:, 1] = torch.cat([values(rank, count, dtype, "SUM", salt=r) for r in range(n)]).to(dtype)
        dst = torch.full((count, 2), 5, dtype=dtype)
        dist.reduce_scatter_tensor(dst[:, 0], src[:, 1])
        expect(same(dst[:, 0].contiguous(), reduced(n, count, dtype, "SUM", salt=rank))
               and bool((dst[:, 1] == 5).all()), f"reduce_scatter_tensor column to column {dtype}")


def check_barrier(rank, n):
    # Rank 0 comes 0.5 s late: nobody may leave the barrier before it arrives.
    if rank == 0:
        time.sleep(0.5)
    start = time.monotonic()
    dist.barrier()
    waited = time.monotonic() - start
    expect(rank == 0 or n == 1 or waited > 0.4, f"barrier returned after {waited:.3f} s")


def raises(fn, *needles):
    try:
        fn()
    except RuntimeError as e:
        return all(s in str(e) for s in needles)
    return False


def check_errors(rank, n):
    t16 = torch.ones(4, dtype=torch.int16)
    expect(raises(lambda: dist.all_reduce(t16), "torch.int16", "supported: float16"),
           "int16 must be refused naming the dtype")
    expect(raises(lambda: dist.all_reduce(torch.ones(4, dtype=torch.bool)), "torch.bool"),
           "bool must be refused naming the dtype")
    expect(raises(lambda: dist.all_reduce(torch.ones(4, dtype=torch.int32),
                                          op=dist.ReduceOp.BAND), "BAND", "not supported"),
           "BAND must be refused naming it")
    expect(raises(lambda: dist.all_gather([torch.zeros(3)] * (n + 1), torch.zeros(3)),
                  "one per rank"), "all_gather with a list of the wrong length")
    expect(raises(lambda: dist.all_gather_into_tensor(torch.zeros(3 * n + 1), torch.zeros(3)),
                  "world size"), "all_gather_into_tensor with the wrong output size")
    expect(raises(lambda: dist.reduce_scatter_tensor(torch.zeros(3), torch.zeros(3 * n + 1)),
                  "world size"), "reduce_scatter_tensor with the wrong input size")
    expect(raises(lambda: dist.all_gather_into_tensor(torch.zeros(3 * n, dtype=torch.int32),
                                                      torch.zeros(3)), "dtype"),
           "all_gather_into_tensor with dtypes that differ")
    # Refused calls are not sticky: the group still works.
    t = torch.full((5,), rank + 1, dtype=torch.int32)
    dist.all_reduce(t)
    expect(same(t, torch.full((5,), n * (n + 1) // 2, dtype=torch.int32)), "all_reduce after errors")


def worker(rank, n):
    start = time.monotonic()
    for check in (check_all_reduce, check_all_gather, check_reduce_scatter, check_non_contiguous,
                  check_barrier, check_errors):
        before = time.monotonic()
        check(rank, n)
        print(f"rank {rank}: {check.__name__} {time.monotonic() - before:.2f} s")
    print(f"rank {rank}: {checks} checks, {len(failures)} failed, {time.monotonic() - start:.1f} s")
    for f in failures[:20]:
        print(f"rank {rank}: FAILED {f}")
    dist.destroy_process_group()
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main(worker)
