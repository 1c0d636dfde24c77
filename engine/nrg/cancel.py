"""Stopping a flow part-way through one evaluation, for callers that must end within a second or two.

One flow evaluation can take a minute on a busy CPU (measured: 2048 samples of the shipped 16 x 16 phi^4
flow in 62 s), and a training step or an HMC trajectory is a forward and a backward pass over a whole
batch, so a check between steps or trajectories comes far too late for a window that is closing.
:func:`checking` calls ``check()`` as each of the module's layers runs forward and as each of their outputs
gets its gradient in the backward pass; ``check`` stops the work by raising.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch


@contextmanager
def checking(module: torch.nn.Module, check: Callable[[], None] | None) -> Iterator[None]:
    """Within the block, ``check()`` runs before every submodule's forward and at every backward step
    through their outputs, in this thread only (another thread may use the same module meanwhile)."""
    if check is None:
        yield
        return
    thread = threading.get_ident()

    def on_gradient(grad: torch.Tensor) -> None:
        check()

    def before(_module, _args) -> None:
        if threading.get_ident() == thread:
            check()

    def after(_module, _args, output) -> None:
        if threading.get_ident() == thread:
            for tensor in output if isinstance(output, tuple) else (output,):
                if isinstance(tensor, torch.Tensor) and tensor.requires_grad:
                    tensor.register_hook(on_gradient)

    handles = [hook(fn) for m in module.modules()
               for hook, fn in ((m.register_forward_pre_hook, before), (m.register_forward_hook, after))]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
