"""What the tutti_torch tests share: running one script as N ranks on this host, and the
worker's side of it (joining the process group).

A test script calls ``main(worker)``: run as ``script.py NRANKS [init]`` it launches NRANKS copies
of itself (subprocesses with RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set, as torchrun sets
them), waits for all of them with a deadline, prints their output and fails if any failed;
each copy joins the group (init_method env:// or tcp://) and runs ``worker(rank, nranks)``.
"""
import os
import socket
import subprocess
import sys
import time

DEADLINE_S = 240  # the whole launch; each test's own waits are shorter


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(script, nranks, init, extra_env=None):
    port = free_port()
    procs = []
    for rank in range(nranks):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(nranks), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), TUTTI_TEST_INIT=init, TUTTI_TEST_WORKER="1")
        env.update(extra_env or {})
        procs.append(subprocess.Popen([sys.executable, script], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    deadline = time.monotonic() + DEADLINE_S
    results = []
    for rank, proc in enumerate(procs):
        try:
            out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            out, _ = proc.communicate()
            out += f"\n[rank {rank} killed after the {DEADLINE_S} s deadline]"
        results.append((proc.returncode, out))
    return results


def init_group(backend="tutti"):
    """Joins the default group the way the launcher asked (env:// or tcp://)."""
    import datetime
    import torch.distributed as dist
    import tutti_torch  # noqa: F401  (registers "tutti")
    rank, nranks = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    timeout = datetime.timedelta(seconds=60)
    if os.environ["TUTTI_TEST_INIT"] == "tcp":
        url = f"tcp://{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
        dist.init_process_group(backend, init_method=url, rank=rank, world_size=nranks,
                                timeout=timeout)
    else:
        dist.init_process_group(backend, init_method="env://", timeout=timeout)
    return rank, nranks


def main(worker, expect_rc=None):
    """expect_rc(rank, nranks) -> the exit status a rank must end with (default 0)."""
    if os.environ.get("TUTTI_TEST_WORKER") == "1":
        import gc
        import torch.distributed as dist
        rank, nranks = init_group()
        code = 0
        try:
            worker(rank, nranks)
        except SystemExit as e:  # caught so that its traceback lets go of the worker's groups
            code = e.code
        # As every program should: gloo's groups left to the interpreter's exit can end the
        # process with "terminate called without an active exception" (pytorch#190489), which
        # failed about 1 run in 25 of the 4-rank gloo comparison.
        if dist.is_initialized():
            dist.destroy_process_group()
        gc.collect()
        sys.stdout.flush()
        sys.exit(code)
    nranks = int(sys.argv[1])
    init = sys.argv[2] if len(sys.argv) > 2 else "env"
    start = time.monotonic()
    results = launch(os.path.abspath(sys.argv[0]), nranks, init)
    failed = False
    for rank, (rc, out) in enumerate(results):
        want = expect_rc(rank, nranks) if expect_rc else 0
        print(f"--- rank {rank}: exit {rc} (want {want})\n{out}")
        failed |= rc != want
    print(f"{os.path.basename(sys.argv[0])}: {nranks} ranks, init {init}: "
          f"{'FAILED' if failed else 'passed'} in {time.monotonic() - start:.1f} s")
    sys.exit(1 if failed else 0)
