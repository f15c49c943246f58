"""broadcast, reduce, gather, scatter, all_to_all_single (equal and uneven splits), all_to_all
(list), send/recv and batch_isend_irecv over "tutti": every dtype, every root, contiguous and strided tensors, each
result equal to exact expected values and, where gloo takes the dtype, to gloo's result in the
same processes; several ops issued with async_op=True and waited in reverse order; the errors
(a root outside the group, split sizes that do not add up, split sizes the ranks disagree on,
recv without a source, a tag) raised with Tutti's message.

    /usr/bin/python3 test_ops_match_gloo.py NRANKS [env|tcp]
"""
import datetime

import torch
import torch.distributed as dist

from launch import main

REDUCE_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8,
                 torch.uint8, torch.int32, torch.int64]
# Ops that only move data take every dtype.
MOVE_DTYPES = REDUCE_DTYPES + [torch.bool, torch.int16, torch.complex64]
COUNTS = [0, 1, 13, 4099, 300007]


def roots(n, count):
    """Every root for small counts; the largest count once, from the last rank (time)."""
    return range(n) if count <= 4099 else [n - 1]

failures = []
checked = {"tutti": 0, "gloo": 0, "gloo refused": 0}


def expect(ok, what):
    checked["tutti"] += 1
    if not ok:
        failures.append(what)


def data(rank, count, dtype, salt=0):
    """Small integers (exact in every dtype and in any order of summation), per rank and salt."""
    base = (torch.arange(count, dtype=torch.int64) * 7 + rank * 13 + salt * 3) % 11 - 5
    if dtype == torch.bool:
        return base % 2 == 0
    if dtype == torch.uint8:
        return (base + 5).to(dtype)
    if dtype == torch.complex64:
        return torch.complex(base.float(), (base * 2).float())
    return base.to(dtype)


def strided(tensor, group=None):
    """The same values in a non-contiguous view (every other element of a larger tensor) for
    tutti; gloo (group given) gets the tensor as it is: it mishandles non-contiguous outputs."""
    if group is not None:
        return tensor
    holder = torch.zeros(tensor.numel() * 2, dtype=tensor.dtype)
    view = holder[::2]
    view.copy_(tensor)
    assert tensor.numel() < 2 or not view.is_contiguous()
    return view


def with_gloo(gloo, run, tutti_result, what):
    """Runs the op over gloo and compares with what tutti gave; a dtype gloo lacks is counted."""
    try:
        gloo_result = run(gloo)
    except RuntimeError:
        checked["gloo refused"] += 1
        return
    checked["gloo"] += 1
    if not all(torch.equal(a, b) for a, b in zip(tutti_result, gloo_result)):
        failures.append(f"{what}: tutti and gloo differ")


def broadcasts(rank, n, gloo):
    for dtype in MOVE_DTYPES:
        for count in COUNTS:
            for root in roots(n, count):
                for layout in ("contiguous", "strided"):
                    def run(group):
                        t = data(rank, count, dtype)
                        t = strided(t, group) if layout == "strided" else t
                        dist.broadcast(t, src=root, group=group)
                        return [t]
                    what = f"broadcast {dtype} count {count} root {root} {layout}"
                    got = run(None)
                    expect(torch.equal(got[0], data(root, count, dtype)), what)
                    if count <= 4099:
                        with_gloo(gloo, run, got, what)


REDUCE_OPS = {"SUM": dist.ReduceOp.SUM, "PRODUCT": dist.ReduceOp.PRODUCT,
              "MIN": dist.ReduceOp.MIN, "MAX": dist.ReduceOp.MAX}


def reduce_input(rank, count, dtype, name):
    x = data(rank, count, dtype)
    # Products of values in -2..2 (0..2 unsigned) stay exact.
    return x % 3 if name == "PRODUCT" and dtype == torch.uint8 else (x % 5 - 2 if name == "PRODUCT"
                                                                     else x)


def reduced(n, count, dtype, name):
    acc = reduce_input(0, count, dtype, name).clone()
    for r in range(1, n):
        x = reduce_input(r, count, dtype, name)
        acc = {"SUM": lambda: acc + x, "PRODUCT": lambda: acc * x,
               "MIN": lambda: torch.minimum(acc, x), "MAX": lambda: torch.maximum(acc, x)}[name]()
    return acc


def reduces(rank, n, gloo):
    for dtype in REDUCE_DTYPES:
        for name, op in REDUCE_OPS.items():
            for count in (1, 13, 300007):
                for root in roots(n, count):
                    def run(group):
                        t = reduce_input(rank, count, dtype, name)
                        dist.reduce(t, dst=root, op=op, group=group)
                        return [t]
                    what = f"reduce {name} {dtype} count {count} root {root}"
                    got = run(None)
                    if rank == root:
                        expect(torch.equal(got[0], reduced(n, count, dtype, name)), what)
                        if count <= 4099:
                            # Off the root gloo leaves partial results: compare the root only.
                            with_gloo(gloo, run, got, what)
                    else:
                        expect(torch.equal(got[0], reduce_input(rank, count, dtype, name)),
                               what + " (off the root the tensor is unchanged)")
                        if count <= 4099:
                            try:
                                run(gloo)
                            except RuntimeError:
                                pass


def gathers_and_scatters(rank, n, gloo):
    for dtype in MOVE_DTYPES:
        for count in COUNTS:
            for root in roots(n, count):
                def run_gather(group):
                    out = [strided(torch.zeros(count, dtype=dtype), group) for _ in range(n)]
                    dist.gather(data(rank, count, dtype, 1), out if rank == root else None,
                                dst=root, group=group)
                    return out if rank == root else []
                what = f"gather {dtype} count {count} root {root}"
                got = run_gather(None)
                if rank == root:
                    expect(all(torch.equal(got[r], data(r, count, dtype, 1)) for r in range(n)),
                           what)
                if count <= 4099:
                    with_gloo(gloo, run_gather, got, what)

                def run_scatter(group):
                    out = strided(torch.zeros(count, dtype=dtype), group)
                    pieces = [data(r, count, dtype, 2) for r in range(n)]
                    dist.scatter(out, pieces if rank == root else None, src=root, group=group)
                    return [out]
                what = f"scatter {dtype} count {count} root {root}"
                got = run_scatter(None)
                expect(torch.equal(got[0], data(rank, count, dtype, 2)), what)
                if count <= 4099:
                    with_gloo(gloo, run_scatter, got, what)


def rows_of(src, dst, salt):
    """Rows rank src sends rank dst in the uneven all-to-all: 0 to 9, every pair its own."""
    return (src * 5 + dst * 3 + salt) % 10


def all_to_alls(rank, n, gloo):
    width = 3
    for dtype in MOVE_DTYPES:
        # Equal splits of a 2-D tensor: `rows` rows of `width` elements per rank pair.
        for rows in (0, 1, 1001):
            def run_equal(group):
                x = data(rank, n * rows * width, dtype, 3).view(n * rows, width)
                out = torch.zeros(n * rows, width, dtype=dtype)
                dist.all_to_all_single(out, x, group=group)
                return [out]
            want = torch.cat([data(r, n * rows * width, dtype, 3).view(n * rows, width)
                              [rank * rows:(rank + 1) * rows] for r in range(n)])
            what = f"all_to_all_single {dtype} equal {rows} rows"
            got = run_equal(None)
            expect(torch.equal(got[0], want), what)
            with_gloo(gloo, run_equal, got, what)
        for salt in range(3):
            send_splits = [rows_of(rank, p, salt) for p in range(n)]
            recv_splits = [rows_of(p, rank, salt) for p in range(n)]

            def run_uneven(group):
                x = data(rank, sum(send_splits) * width, dtype, 4 + salt).view(-1, width)
                out = torch.zeros(sum(recv_splits), width, dtype=dtype)
                dist.all_to_all_single(out, x, output_split_sizes=recv_splits,
                                       input_split_sizes=send_splits, group=group)
                return [out]
            pieces = []
            for p in range(n):
                their = data(p, sum(rows_of(p, q, salt) for q in range(n)) * width, dtype,
                             4 + salt).view(-1, width)
                first = sum(rows_of(p, q, salt) for q in range(rank))
                pieces.append(their[first:first + rows_of(p, rank, salt)])
            what = f"all_to_all_single {dtype} uneven, salt {salt}"
            got = run_uneven(None)
            expect(torch.equal(got[0], torch.cat(pieces)), what)
            with_gloo(gloo, run_uneven, got, what)

        def run_list(group):
            ins = [data(rank, rows_of(rank, p, 7) * 11, dtype, p) for p in range(n)]
            outs = [strided(torch.zeros(rows_of(p, rank, 7) * 11, dtype=dtype), group)
                    for p in range(n)]
            dist.all_to_all(outs, ins, group=group)
            return outs
        what = f"all_to_all (list) {dtype}"
        got = run_list(None)
        expect(all(torch.equal(got[p], data(p, rows_of(p, rank, 7) * 11, dtype, rank))
                   for p in range(n)), what)
        with_gloo(gloo, run_list, got, what)


def sends_and_recvs(rank, n):
    if n == 1:
        return
    nxt, prev = (rank + 1) % n, (rank - 1) % n
    for dtype in MOVE_DTYPES:
        for count in COUNTS:
            out = data(rank, count, dtype, 5)
            got = strided(torch.zeros(count, dtype=dtype))
            # Blocking around the ring: even ranks send first, odd ones receive first.
            if rank % 2 == 0:
                dist.send(out, dst=nxt)
                dist.recv(got, src=prev)
            else:
                dist.recv(got, src=prev)
                dist.send(out, dst=nxt)
            expect(torch.equal(got, data(prev, count, dtype, 5)), f"send/recv {dtype} {count}")
    # Asynchronous: several messages to one peer match in issue order.
    works, gots = [], []
    for m, count in enumerate((100003, 0, 7, 1 << 20)):
        if rank % 2 == 0:
            works.append(dist.isend(data(rank, count, torch.float32, m), dst=nxt))
        gots.append(torch.zeros(count))
        works.append(dist.irecv(gots[-1], src=prev))
        if rank % 2 == 1:
            works.append(dist.isend(data(rank, count, torch.float32, m), dst=nxt))
    for w in reversed(works):
        w.wait()
    expect(all(torch.equal(g, data(prev, g.numel(), torch.float32, m))
               for m, g in enumerate(gots)), "isend/irecv in issue order")


def batched_sends(rank, n):
    """batch_isend_irecv with every rank sending to both neighbours before receiving from them:
    ungrouped, two ranks whose large sends cross wait for each other's receive (the timeout);
    as one group they run together. Messages between two ranks match in issue order (with 2
    ranks, both neighbours are the same rank)."""
    nxt, prev = (rank + 1) % n, (rank - 1) % n
    for count in (0, 13, 1 << 20, (1 << 22) + 3):
        for_next, for_prev = data(rank, count, torch.float32, 6), data(rank, count, torch.float32, 7)
        from_prev, from_next = torch.zeros(count), strided(torch.zeros(count))
        ops = [dist.P2POp(dist.isend, for_next, nxt), dist.P2POp(dist.isend, for_prev, prev),
               dist.P2POp(dist.irecv, from_prev, prev), dist.P2POp(dist.irecv, from_next, nxt)]
        works = dist.batch_isend_irecv(ops)
        expect(len(works) == 4, f"batch_isend_irecv returns a work per op ({len(works)})")
        for w in works:
            w.wait(datetime.timedelta(seconds=60))
        expect(torch.equal(from_prev, data(prev, count, torch.float32, 6)) and
               torch.equal(from_next, data(nxt, count, torch.float32, 7)),
               f"batch_isend_irecv crossing, count {count}")


def async_ops(rank, n):
    """Several ops in flight at once, waited in reverse order, exact."""
    b = data(rank, 100003, torch.float32, 8)
    r = data(rank, 100003, torch.int64, 9)
    g_out = [torch.zeros(4099, dtype=torch.float64) for _ in range(n)] if rank == 0 else None
    s_out = torch.zeros(4099, dtype=torch.int32)
    a_out = torch.zeros(n * 1000)
    works = [dist.broadcast(b, src=n - 1, async_op=True),
             dist.reduce(r, dst=0, async_op=True),
             dist.gather(data(rank, 4099, torch.float64, 10), g_out, dst=0, async_op=True),
             dist.scatter(s_out, [data(p, 4099, torch.int32, 11) for p in range(n)]
                          if rank == n - 1 else None, src=n - 1, async_op=True),
             dist.all_to_all_single(a_out, data(rank, n * 1000, torch.float32, 12),
                                    async_op=True)]
    for w in reversed(works):
        w.wait()
    expect(all(w.is_completed() for w in works), "async: a waited Work is not completed")
    expect(torch.equal(b, data(n - 1, 100003, torch.float32, 8)), "async broadcast")
    if rank == 0:
        expect(torch.equal(r, reduced_sum(n, 100003, torch.int64, 9)), "async reduce")
        expect(all(torch.equal(g_out[p], data(p, 4099, torch.float64, 10)) for p in range(n)),
               "async gather")
    expect(torch.equal(s_out, data(rank, 4099, torch.int32, 11)), "async scatter")
    expect(torch.equal(a_out, torch.cat([data(p, n * 1000, torch.float32, 12)
                                         [rank * 1000:(rank + 1) * 1000] for p in range(n)])),
           "async all_to_all_single")


def reduced_sum(n, count, dtype, salt):
    acc = data(0, count, dtype, salt)
    for r in range(1, n):
        acc = acc + data(r, count, dtype, salt)
    return acc


def raises(what, exc, needles, fn):
    try:
        fn()
    except exc as e:
        message = str(e)
        expect(all(s in message for s in needles), f"{what}: message {message!r} lacks {needles}")
        return
    failures.append(f"{what}: no {exc.__name__}")


def errors(rank, n):
    t = torch.zeros(4)
    raises("broadcast root outside", RuntimeError, ["tutti: broadcast failed", f"root {n}",
                                                    "outside"],
           lambda: dist.broadcast(t, src=n))
    raises("reduce root outside", RuntimeError, ["tutti: reduce failed", f"root {n + 3}"],
           lambda: dist.reduce(t, dst=n + 3))
    raises("split sizes that do not add up", RuntimeError,
           ["tutti: alltoall_base's input split sizes add up to", "the tensor has"],
           lambda: dist.all_to_all_single(torch.zeros(n + 1), torch.zeros(n + 1),
                                          output_split_sizes=[1] * n,
                                          input_split_sizes=[1] * n))
    raises("recv without a source", NotImplementedError, ["recvAnysource", "pass src"],
           lambda: dist.recv(t))
    if n > 1:
        raises("a tag", RuntimeError, ["tag 5", "no tags"],
               lambda: dist.send(t, dst=(rank + 1) % n, tag=5))
    # The communicator still works after refused calls.
    x = data(rank, 5, torch.float32)
    dist.broadcast(x, src=0)
    expect(torch.equal(x, data(0, 5, torch.float32)), "broadcast after refused calls")
    if n > 1:
        # Split sizes the ranks disagree on (rank 0 sends rank 1 one row more than rank 1
        # expects): found by the transfer, raised by wait() with Tutti's message. It leaves the
        # communicator in error, so on a group of its own.
        bad = dist.new_group(backend="tutti", timeout=datetime.timedelta(seconds=30))
        send = [1] * n
        recv = [1] * n
        if rank == 0:
            send[1] = 2
        x = torch.zeros(sum(send))
        out = torch.zeros(sum(recv))
        work = dist.all_to_all_single(out, x, output_split_sizes=recv, input_split_sizes=send,
                                      group=bad, async_op=True)
        if rank == 1:
            raises("split sizes the ranks disagree on", RuntimeError,
                   ["tutti: alltoall_base failed"], work.wait)
        else:
            try:
                work.wait()
            except RuntimeError:
                pass  # the sender and bystanders may see rank 1's connections close


def worker(rank, n):
    gloo = dist.new_group(backend="gloo")
    broadcasts(rank, n, gloo)
    reduces(rank, n, gloo)
    gathers_and_scatters(rank, n, gloo)
    all_to_alls(rank, n, gloo)
    sends_and_recvs(rank, n)
    batched_sends(rank, n)
    async_ops(rank, n)
    errors(rank, n)
    print(f"rank {rank}: {checked['tutti']} checks, {checked['gloo']} compared with gloo "
          f"({checked['gloo refused']} calls gloo refused), {len(failures)} failed")
    for f in failures[:40]:
        print(f"rank {rank}: FAILED {f}")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main(worker)
