"""One flow under study: what the Neural RG panel does to a flow, with numpy in and numpy out.

:class:`FlowLab` holds a flow (density), its target, its training history, the last samples and a
random generator, and offers the panel's operations (new flow, load, save, training, sampling, latent
response, multi-scale mixing, error correction, bulk against physical MCMC) as methods that take and
return plain numbers and arrays. The panel runs them in background jobs and draws what they return;
a script can do the same without Qt. Tensors never leave this object.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..device import make_generator, resolve_device
from ..errors import CheckpointError, ParameterError
from ..validate import flow_training, memory
from .cancel import checking
from .checkpoint import Checkpoint, build_checkpoint, checkpoint_data, load_checkpoint, save_checkpoint
from .density import FlowDensity
from .flow import HierarchicalFlow
from .latent import (
    causal_cone,
    compare_chains,
    corrupt,
    footprint,
    footprints_by_level,
    latent_response,
    mix_latents,
    refine,
    repair,
)
from .targets import make_target
from .train import new_history, train_reverse_kl


class FlowLab:
    """A flow, its target and history, the last samples ``[n, C, L, L]`` (numpy) and a generator."""

    def __init__(self, device: str = "cpu", seed: int = 0):
        self.device = resolve_device(device)
        self.density: FlowDensity | None = None
        self.target = None
        self.history: dict[str, list[float]] = {}
        self.samples: np.ndarray | None = None
        self.gen = make_generator(seed, self.device)

    # --- the flow ------------------------------------------------------------------------------
    @property
    def L(self) -> int | None:
        return None if self.target is None else self.target.L

    @property
    def levels(self) -> int:
        return self._flow().levels

    def latent_levels(self) -> np.ndarray:
        """``[L, L]`` level of the latent variable at each site."""
        return self._flow().latent_levels().numpy()

    def exact_free_energy(self) -> float | None:
        return None if self.target is None else self.target.exact_free_energy()

    def same_target(self, name: str, L: int, params: dict) -> bool:
        return (self.target is not None and self.target.name == name and self.target.L == L
                and self.target.params() == make_target(name, L, **params).params())

    def new_flow(self, name: str, L: int, params: dict, couplings: int, hidden: tuple[int, ...],
                 seed: int = 0, batch: int = 1) -> None:
        """A fresh (identity) flow for the target ``name`` (ParameterError for bad parameters, or for a flow
        that cannot train on ``batch`` samples at once in the memory available)."""
        target = make_target(name, L, **params)
        self._check_size(target.L, target.channels, couplings, hidden, batch)
        with torch.random.fork_rng(devices=[]):  # the initial weights follow the seed
            torch.manual_seed(seed)
            flow = HierarchicalFlow(target.L, target.channels, n_couplings=couplings, hidden=hidden)
        self._set(FlowDensity(flow, target.symmetry).to(self.device), target, {})

    def _set(self, density: FlowDensity, target, history: dict) -> None:
        self.density, self.target = density, target
        self.history = {**new_history(), **history}  # training appends to every key
        self.samples = None

    def load(self, path: str | os.PathLike) -> dict:
        """Load a checkpoint (CheckpointError, and the current flow kept, when it is unusable);
        returns the target's name, L and parameters, and the flow's couplings per level and hidden widths."""
        return self.adopt(load_checkpoint(path, device=self.device))

    def adopt(self, ckpt: Checkpoint) -> dict:
        """Study the flow of ``ckpt`` from now on; returns what :meth:`load` does."""
        self._set(ckpt.density, ckpt.target, ckpt.history)
        flow = ckpt.density.flow
        return {"name": ckpt.target.name, "L": ckpt.target.L, "params": ckpt.target.params(),
                "couplings": flow.n_couplings, "hidden": tuple(flow.hidden)}

    def save(self, path: str | os.PathLike) -> Path:
        return save_checkpoint(path, self._need(), self.target, self.history, {"source": "rgviz"})

    def state(self) -> dict:
        """The flow as a checkpoint holds it, with numpy arrays for its weights and history: plain data for a
        session file (:mod:`engine.plain`), read back by :meth:`read_state`."""
        data = checkpoint_data(self._need(), self.target, self.history, {"source": "rgviz"})
        data["weights"] = {k: v.numpy() for k, v in data["weights"].items()}
        data["history"] = {k: np.asarray(v, np.float64) for k, v in data["history"].items()}
        return data

    def read_state(self, data: dict, where: str = "session") -> Checkpoint:
        """The flow of :meth:`state`'s ``data`` (read back from ``where``) on this lab's device, checked as a
        checkpoint file is (CheckpointError when it is unusable); :meth:`adopt` studies it. Nothing here changes."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), dict) for k in ("weights", "history")):
            raise CheckpointError(f"{where}: the flow needs its weights and history")
        arrays = list(data["weights"].values()) + list(data["history"].values())
        if not all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in arrays):
            raise CheckpointError(f"{where}: the flow's weights and history must be arrays of floats")
        data = {**data, "weights": {k: torch.from_numpy(v) for k, v in data["weights"].items()},
                "history": {k: v.tolist() for k, v in data["history"].items()}}
        return build_checkpoint(data, where, device=self.device)

    def check_training(self, batch: int) -> None:
        """ParameterError when the current flow cannot train on ``batch`` samples in the memory available."""
        flow = self._flow()
        self._check_size(flow.L, flow.channels, flow.n_couplings, tuple(flow.hidden), batch)

    def _check_size(self, L: int, channels: int, couplings: int, hidden: tuple[int, ...], batch: int) -> None:
        """ParameterError, before anything is allocated, for a flow or batch this machine cannot hold
        (the same estimate and words as ``rgviz-batch train``)."""
        flow_training(L, channels, L.bit_length() - 1, couplings, hidden, batch, 0, 4, self.device)

    def _need(self) -> FlowDensity:
        if self.density is None:
            raise ParameterError("flow", "train or load a flow first")
        return self.density

    def _flow(self) -> HierarchicalFlow:
        return self._need().flow

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        p = next(self._flow().parameters())
        return torch.as_tensor(x, device=p.device, dtype=p.dtype)

    # --- training ------------------------------------------------------------------------------
    def train(self, steps: int, batch: int, lr: float, seed: int, on_step: Callable[[dict], None] | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict:
        """Reverse-KL training that appends to :attr:`history`; returns a copy of it."""
        density = self._need()
        self.check_training(batch)
        gen = make_generator(seed, next(density.parameters()).device)
        train_reverse_kl(density, self.target, steps=steps, batch=batch, gen=gen, lr=lr, history=self.history,
                         on_step=on_step, progress=progress)
        return self.history_copy()

    def stoppable(self, check: Callable[[], None]):
        """A context in which ``check()`` runs inside every evaluation of the flow in this thread (each layer,
        forward and backward), so that raising from it stops a training step, a sampling batch or an HMC
        trajectory part-way (:func:`engine.nrg.cancel.checking`)."""
        return checking(self._need(), check)

    def history_copy(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.history.items()}

    # --- exploring the latent space ------------------------------------------------------------
    @torch.no_grad()
    def generate(self, n: int) -> np.ndarray:
        """Draw n flow samples, kept as :attr:`samples`."""
        x, _ = self._need().sample(n, self.gen)
        self.samples = x.cpu().numpy()
        return self.samples

    @torch.no_grad()
    def _base_latents(self, n: int = 1) -> torch.Tensor:
        """Latents of the last samples (z = G^-1 x), or prior draws before any were generated."""
        if self.samples is not None and len(self.samples) >= n:
            return self._need().latents(self._tensor(self.samples[:n]), self.gen)
        return self._need().sample_prior(n, self.gen)

    def response(self, i: int, j: int, eps: float) -> dict:
        """|dx| ``[L, L]`` when the latent at site (i, j) moves by eps; its level, footprint, and the
        footprint of one node of each level."""
        flow = self._flow()
        z = self._base_latents()
        response = latent_response(flow, z, i * flow.L + j, eps)
        return {"response": response, "level": int(self.latent_levels()[i, j]), "footprint": footprint(response),
                "by_level": footprints_by_level(flow, z, eps)}

    @torch.no_grad()
    def mix(self, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Configurations A and B and the levels >= ``level`` of A with the finer ones of B."""
        flow = self._flow()
        z = self._base_latents(2)
        xa, xb = flow(z)[0].cpu().numpy()
        return xa, xb, mix_latents(flow, z[:1], z[1:], level)[0].cpu().numpy()

    def error_correction(self, i: int, j: int, size: int, proposals: int, hmc_steps: int = 0) -> dict:
        """Corrupt the size x size patch at (i, j) of a configuration and resample its causal cone
        (found through the flow's Jacobian, so not under no_grad): independent Metropolis over
        ``proposals``, then ``hmc_steps`` HMC trajectories on the cone (:func:`.latent.refine`)."""
        flow = self._flow()
        L = flow.L
        patch = torch.zeros(L, L, dtype=torch.bool, device=self.device)
        patch[i:i + size, j:j + size] = True
        with torch.no_grad():
            x = self._tensor(self.samples[:1]) if self.samples is not None else flow(self._base_latents())[0]
        cone = causal_cone(flow, patch, self.gen)
        bad = corrupt(x, patch, self.gen)
        target = self._repair_target(bad, patch)
        fixed, acceptance = repair(flow, target, bad, cone, self.gen, proposals, self._need().prior)
        hmc_acceptance = None
        if hmc_steps:
            fixed, hmc_acceptance = refine(flow, target, fixed, cone, self.gen, hmc_steps)
        return {"x": x[0].cpu().numpy(), "corrupted": bad[0].cpu().numpy(), "repaired": fixed[0].cpu().numpy(),
                "cone": cone.cpu().numpy(), "patch_sites": int(patch.sum()), "acceptance": float(acceptance),
                "hmc_acceptance": hmc_acceptance}

    def _repair_target(self, corrupted: torch.Tensor, patch: torch.Tensor):
        """The density error correction samples the cone from: the target's (the action knows it)."""
        return self.target

    @staticmethod
    def check_chains(steps: int, chains: int) -> None:
        """ParameterError when the two chains' records cannot fit: per step and chain, each method keeps up
        to four float32 observables, its order parameter's trace in float64 and that trace's autocorrelation
        (a complex128 transform of twice the length): at least 64 bytes, for both methods."""
        memory("steps", 2 * 64 * steps * chains, f"{steps} HMC steps of {chains} chains, bulk and physical")

    def compare_chains(self, steps: int, chains: int, leapfrog: int, seed: int,
                       progress: Callable[[int, int], None] | None = None) -> dict:
        """HMC on the latents (bulk) against HMC on the lattice (physical): traces, autocorrelations."""
        self.check_chains(steps, chains)
        return compare_chains(self._need(), self.target, steps, chains, make_generator(seed, self.device),
                              n_leapfrog=leapfrog, burn=max(steps // 10, 10), progress=progress)
