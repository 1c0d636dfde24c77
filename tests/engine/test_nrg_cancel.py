"""engine.nrg.cancel.checking: a check runs inside a flow's forward and backward passes, in the calling
thread only, and its hooks are gone afterwards."""

from __future__ import annotations

import threading

import pytest
import torch

from engine.nrg.cancel import checking
from engine.nrg.flow import HierarchicalFlow


class Stop(Exception):
    pass


def flow() -> HierarchicalFlow:
    torch.manual_seed(0)
    return HierarchicalFlow(8, 1, n_couplings=2, hidden=(8, 8))


def test_a_check_runs_many_times_within_one_forward_and_one_backward():
    f, calls = flow(), []
    z = torch.randn(4, 1, 8, 8)
    with checking(f, lambda: calls.append("check")):
        x, logdet = f(z)
        forward = len(calls)
        (x.square().sum() + logdet.sum()).backward()
    assert forward > 10 and len(calls) > 2 * forward  # every layer forward, and again on the way back
    calls.clear()
    f(z)
    assert calls == []  # the hooks are removed


@pytest.mark.parametrize("where", ["forward", "backward"])
def test_raising_stops_the_pass_part_way(where):
    f, seen = flow(), []
    z = torch.randn(4, 1, 8, 8)
    x = None

    def check():
        seen.append(1)
        if (where == "forward" or x is not None) and len(seen) > (3 if where == "forward" else 0):
            raise Stop

    with checking(f, check), pytest.raises(Stop):
        x, logdet = f(z)
        seen.clear()
        (x.square().sum() + logdet.sum()).backward()
    assert len(seen) == (4 if where == "forward" else 1)


def test_another_thread_using_the_same_flow_is_not_checked():
    f, errors = flow(), []

    def other():
        try:
            f(torch.randn(2, 1, 8, 8))
        except Stop as err:  # pragma: no cover - the failure this test looks for
            errors.append(err)

    def check():
        raise Stop

    with checking(f, check):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        with pytest.raises(Stop):
            f(torch.randn(2, 1, 8, 8))
    assert errors == []
