"""On 2 ranks: asynchronous ops overlap (several issued before any wait, waited in reverse
order, exact); a Work's future completes by itself (no wait() on the Work: what DDP relies on)
and chains; a group dropped with a call pending and a Python callback on its future; wait() with a timeout that runs out raises and the op still completes; a peer that
exits makes wait() raise with Tutti's message within a bounded time, and later ops are refused.

    /usr/bin/python3 test_async_and_errors.py 2 [env|tcp]
"""
import datetime
import os
import time

import torch
import torch.distributed as dist

from launch import main

# Tutti's inactivity timeout (read at communicator creation): a lost peer is an error well
# within the test's bounds even if its connections were not seen to close.
os.environ.setdefault("TUTTI_TIMEOUT_MS", "4000")
PEER_EXIT_RC = 3

failures = []


def expect(ok, what):
    if not ok:
        failures.append(what)


def data(rank, count, salt):
    return ((torch.arange(count, dtype=torch.int64) * 3 + rank * 7 + salt) % 101).float()


def overlap(rank, n):
    sizes = [1, 1000, 1 << 20, 7, 100003, 1 << 18]
    tensors = [data(rank, c, s) for s, c in enumerate(sizes)]
    want = [sum(data(r, c, s) for r in range(n)) for s, c in enumerate(sizes)]
    gathered = torch.zeros(n * 4099)
    scattered = torch.zeros(4099)
    rs_input = torch.cat([data(rank, 4099, 50 + r) for r in range(n)])
    start = time.monotonic()
    works = [dist.all_reduce(t, async_op=True) for t in tensors]
    works.append(dist.all_gather_into_tensor(gathered, data(rank, 4099, 40), async_op=True))
    works.append(dist.reduce_scatter_tensor(scattered, rs_input, async_op=True))
    issued = time.monotonic() - start
    for w in reversed(works):
        w.wait()
    waited = time.monotonic() - start
    expect(all(w.is_completed() for w in works), "a waited Work is not completed")
    expect(all(torch.equal(t, w) for t, w in zip(tensors, want)), "overlapped all_reduce results")
    expect(torch.equal(gathered, torch.cat([data(r, 4099, 40) for r in range(n)])),
           "overlapped all_gather_into_tensor result")
    expect(torch.equal(scattered, sum(data(r, 4099, 50 + rank) for r in range(n))),
           "overlapped reduce_scatter_tensor result")
    print(f"rank {rank}: {len(works)} ops issued in {issued * 1e3:.1f} ms, all done after "
          f"{waited * 1e3:.1f} ms")


def futures(rank, n):
    t = data(rank, 100003, 7)
    want = sum(data(r, 100003, 7) for r in range(n))
    fut = dist.all_reduce(t, async_op=True).get_future()
    doubled = fut.then(lambda f: f.value()[0] * 2)
    # Only futures are waited on: Tutti's progress thread must complete them.
    expect(torch.equal(doubled.wait(), want * 2), "a chained future's value")
    expect(fut.done() and torch.equal(fut.value()[0], want), "the all_reduce future's value")
    out = torch.zeros(n * 5)
    fut = dist.all_gather_into_tensor(out, data(rank, 5, 8), async_op=True).get_future()
    expect(torch.equal(fut.wait()[0], torch.cat([data(r, 5, 8) for r in range(n)])),
           "the all_gather_into_tensor future's value")


def wait_timeout(rank, n):
    t = torch.full((1000,), float(rank + 1))
    if rank == 1:
        time.sleep(1.5)  # rank 0's op cannot complete before this rank joins
        dist.all_reduce(t)
        return
    work = dist.all_reduce(t, async_op=True)
    expect(not work.is_completed(), "is_completed() before the peer joined")
    start = time.monotonic()
    try:
        work.wait(datetime.timedelta(milliseconds=200))
        failures.append("wait(200 ms) returned before the peer joined")
    except RuntimeError as e:
        expect("not complete after 200 ms" in str(e), f"wait timeout message: {e}")
    expect(time.monotonic() - start < 1.0, "wait(200 ms) took too long")
    work.wait()  # the op went on and completes once rank 1 joins
    expect(torch.equal(t, torch.full((1000,), 3.0)), "all_reduce after a wait timed out")


def destroy_with_a_call_pending(rank, n):
    # A second tutti group (new_group): rank 0 drops it while its all_reduce still waits for
    # rank 1 and a Python callback hangs on that call's future. The group's destructor waits for
    # the call, whose callback needs the GIL: the destructor must not hold it.
    group = dist.new_group(backend="tutti")
    t = torch.full((1000,), float(rank + 1))
    if rank == 1:
        time.sleep(1.0)
        dist.all_reduce(t, group=group)
    else:
        seen = []
        fut = dist.all_reduce(t, group=group, async_op=True).get_future()
        chained = fut.then(lambda f: seen.append(f.value()[0][0].item()))
        start = time.monotonic()
        dist.destroy_process_group(group)
        del group  # the last reference: the destructor runs here
        chained.wait()
        expect(seen == [3.0], f"the callback saw {seen}")
        expect(time.monotonic() - start < 10, "dropping the group took too long")
        return
    dist.destroy_process_group(group)


def peer_exits(rank, n):
    if rank == 1:
        os._exit(PEER_EXIT_RC)  # dies without a word, as a crashed rank would
    time.sleep(0.3)
    t = torch.ones(100003)
    start = time.monotonic()
    try:
        work = dist.all_reduce(t, async_op=True)
    except RuntimeError as e:
        # The peer's death may be known before the call (the bootstrap watch tells every rank
        # within a second): then the call itself is refused, naming the failed rank.
        message = str(e)
        print(f"rank 0: the call raised at once: {message}")
        expect(message.startswith("tutti: allreduce failed ("), f"message names the op: {message}")
        expect("rank 1" in message, f"message names the failed rank: {message}")
        work = None
    if work is not None:
        try:
            work.wait()
            failures.append("wait() returned although the peer exited")
        except RuntimeError as e:
            elapsed = time.monotonic() - start
            message = str(e)
            print(f"rank 0: wait raised after {elapsed:.2f} s: {message}")
            expect(message.startswith("tutti: allreduce failed ("), f"message names the op: {message}")
            expect(elapsed < 15, f"the error took {elapsed:.1f} s")
            expect(work.is_completed() and not work.is_success(),
                   "a failed Work is completed and not successful")
            try:
                work.get_future().wait()
                failures.append("the failed Work's future has no error")
            except RuntimeError as e:
                expect("tutti: allreduce failed" in str(e), f"the future's error: {e}")
    # The communicator's error is sticky: the next op is refused at once, with the same cause.
    try:
        dist.all_reduce(torch.ones(3))
        failures.append("an op after the failure succeeded")
    except RuntimeError as e:
        expect("tutti: allreduce failed" in str(e), f"sticky error message: {e}")


def worker(rank, n):
    assert n == 2, "this test runs on 2 ranks"
    for step in (overlap, futures, wait_timeout, destroy_with_a_call_pending, peer_exits):
        step(rank, n)
        print(f"rank {rank}: {step.__name__} done")
    for f in failures:
        print(f"rank {rank}: FAILED {f}")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main(worker, expect_rc=lambda rank, n: PEER_EXIT_RC if rank == 1 else 0)
