"""Tutti as a torch.distributed backend for CPU tensors.

``import tutti_torch`` registers the backend ``"tutti"``; then
``torch.distributed.init_process_group("tutti", ...)`` works with any init_method (env://,
tcp://, file://) and under torchrun or mpirun. The unique id travels through the store that
torch gives the backend; no extra environment is needed.
"""
import torch
import torch.distributed

from . import _C

__all__ = ["BACKEND"]

BACKEND = "tutti"

if BACKEND.upper() not in torch.distributed.Backend._plugins:
    torch.distributed.Backend.register_backend(BACKEND, _C.create_process_group)
