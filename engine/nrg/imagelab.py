"""RG-Flow on natural images: building, evaluating and taking apart a flow trained on image patches.

- :func:`build_image_flow`: the lattice flow (:class:`.flow.HierarchicalFlow`, one channel) with a Laplace prior;
- :func:`evaluation`: held-out bits/dim against the full-covariance Gaussian (:mod:`.images`);
- :func:`receptive_fields`: the emergent hierarchy, the image's response to one latent per level;
- :func:`light_cone_counts`: the latents a corrupted patch's causal cone holds, against N = L^2;
- :class:`ImageLab`: the Neural RG lab (:class:`.lab.FlowLab`) for images, what the RG-Flow panel runs.
"""

from __future__ import annotations

import numpy as np
import torch

from ..device import make_generator
from .checkpoint import load_checkpoint
from .density import FlowDensity
from .flow import HierarchicalFlow
from .images import ImagePatches, gaussian_baseline, held_out_bits_per_dim
from .lab import FlowLab
from .latent import causal_cone


def build_image_flow(L: int, prior: str, couplings: int, hidden: tuple[int, ...], levels: int | None = None,
                     seed: int = 0) -> tuple[FlowDensity, ImagePatches]:
    """A fresh (identity) flow for L x L grey patches and the patches' target; the weights follow ``seed``."""
    target = ImagePatches(L)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        flow = HierarchicalFlow(L, 1, levels, couplings, tuple(hidden))
    return FlowDensity(flow, "none", prior), target


def evaluation(density: FlowDensity, target: ImagePatches, seed: int = 0) -> dict:
    """Held-out bits/dim of the flow and of the Gaussian baseline (same patches, same dequantisation)."""
    flow = held_out_bits_per_dim(density, target, seed)
    return {"bits_per_dim": {"mean": flow["mean"], "error": flow["error"]},
            "gaussian_bits_per_dim": gaussian_baseline(target, seed), "held_out_patches": flow["patches"],
            "L": target.L, "prior": density.prior, "flow": density.flow.hyperparameters()}


def _torus_distance(L: int, i: int, j: int) -> torch.Tensor:
    """``[L, L]`` Euclidean distance on the L x L torus from site (i, j) (minimal image)."""
    d = torch.arange(L)
    di = torch.minimum((d - i) % L, (i - d) % L).double()
    dj = torch.minimum((d - j) % L, (j - d) % L).double()
    return (di[:, None] ** 2 + dj[None, :] ** 2).sqrt()


def level_nodes(flow: HierarchicalFlow) -> dict[int, tuple[int, int]]:
    """One node per level: the one nearest the centre (L/2, L/2), so its response is not cut by the edges."""
    levels = flow.latent_levels()
    centre = _torus_distance(flow.L, flow.L // 2, flow.L // 2)
    nodes = {}
    for lev in range(flow.levels + 1):
        dist = torch.where(levels == lev, centre, torch.inf)
        nodes[lev] = divmod(int(torch.argmin(dist)), flow.L)
    return nodes


@torch.no_grad()
def receptive_fields(flow: HierarchicalFlow, z: torch.Tensor, eps: float = 1.0, energy: float = 0.9) -> dict:
    """The image's response |G(z + eps e_k) - G(z)| to one latent k per level, over the base latents
    ``z`` ``[n, 1, L, L]``, and three sizes of that receptive field per level (means over ``z``):

    - ``support``: sites that move at all (above 1e-5 of the largest change): the structural cone, which the
      flow's layout fixes;
    - ``area``: the fewest sites that hold ``energy`` (90%) of the response's sum of squares: what the trained
      weights make of that cone;
    - ``radius``: the RMS distance of the response (|dx|^2-weighted) from the node's own site, on the torus.

    Returns ``responses`` ``[levels + 1, L, L]`` (mean |dx|), ``nodes`` and ``levels``: a list of per-level dicts.
    """
    n, L = len(z), flow.L
    nodes = level_nodes(flow)
    base = flow(z)[0]
    responses, rows = [], []
    for lev, (i, j) in nodes.items():
        dz = torch.zeros_like(z)
        dz[:, :, i, j] = eps
        dx = (flow(z + dz)[0] - base).norm(dim=1).double()  # [n, L, L]
        flat = dx.flatten(1)
        power = flat ** 2
        moved = flat > 1e-5 * flat.max(dim=1, keepdim=True).values
        ranked = power.sort(dim=1, descending=True).values.cumsum(1)
        area = (ranked < energy * ranked[:, -1:]).sum(1) + 1
        dist2 = _torus_distance(L, i, j).flatten() ** 2
        radius = ((power * dist2).sum(1) / power.sum(1).clamp_min(1e-300)).sqrt()
        responses.append(dx.mean(0))
        rows.append({"level": lev, "node": [i, j], "support": float(moved.sum(1).double().mean()),
                     "area": float(area.double().mean()), "area_error": float(area.double().std() / n ** 0.5),
                     "radius": float(radius.mean()), "radius_error": float(radius.std() / n ** 0.5)})
    return {"responses": torch.stack(responses).cpu().numpy(), "levels": rows}


def resized_flow(flow: HierarchicalFlow, L: int) -> HierarchicalFlow:
    """The same bijector blocks on an L x L lattice: level k uses the trained level min(k, levels - 1)'s blocks
    (the layout is the same at every scale, so any size gets the trained flow's causal structure)."""
    out = HierarchicalFlow(L, flow.channels, None, flow.n_couplings, flow.hidden)
    for k in range(out.levels):
        out.disentanglers[k].load_state_dict(flow.disentanglers[min(k, flow.levels - 1)].state_dict())
        out.decimators[k].load_state_dict(flow.decimators[min(k, flow.levels - 1)].state_dict())
    return out.to(next(flow.parameters()).dtype)


def light_cone_counts(flow: HierarchicalFlow, sizes, patch: int = 1, seed: int = 0) -> dict:
    """Latents in the causal cone (:func:`.latent.causal_cone`) of a ``patch`` x ``patch`` square at the centre,
    for the flow's blocks on each L of ``sizes``: the count, its split by level, and N = L^2 for comparison.
    A fit count = a + b log2 N says how it grows (the O(log N) light cone: a bounded number per level)."""
    gen = make_generator(seed)
    rows = []
    for L in sizes:
        f = resized_flow(flow, L)
        mask = torch.zeros(L, L, dtype=torch.bool)
        c = L // 2 - patch // 2
        mask[c:c + patch, c:c + patch] = True
        cone = causal_cone(f, mask, gen).any(dim=0)
        levels = f.latent_levels()
        rows.append({"L": L, "N": L * L, "levels": f.levels, "count": int(cone.sum()),
                     "by_level": [int((cone & (levels == lev)).sum()) for lev in range(f.levels + 1)]})
    log_n = np.log2([r["N"] for r in rows])
    counts = np.array([r["count"] for r in rows], float)
    slope, intercept = np.polyfit(log_n, counts, 1) if len(rows) > 1 else (float("nan"), float("nan"))
    return {"sizes": rows, "fit": {"intercept": float(intercept), "per_log2_N": float(slope)}}


class KnownPixels:
    """The flow's own density conditioned on the pixels outside a corrupted patch, seen with Gaussian noise of
    ``sigma``: S(x) = -ln q(x) + sum_known (x - x_seen)^2 / (2 sigma^2).

    Error correction (:func:`.latent.repair`) draws the cone's latents from the prior and weights them by
    exp(-S(G z)) |det dG/dz| / p(z_cone); with this S the flow's terms cancel to p(z_kept), a constant, and the
    weight is the likelihood of the pixels that survived: the repair is a draw from q given what is known.
    """

    def __init__(self, density: FlowDensity, seen: torch.Tensor, known: torch.Tensor, sigma: float):
        self.density, self.seen, self.known, self.sigma = density, seen, known.to(seen.device, seen.dtype), sigma

    def action(self, x: torch.Tensor) -> torch.Tensor:
        misfit = ((x - self.seen) ** 2 * self.known).flatten(1).sum(-1) / (2 * self.sigma ** 2)
        return -self.density.log_prob(x) + misfit


class ImageLab(FlowLab):
    """:class:`.lab.FlowLab` for a flow trained on image patches: the same latent-space operations, plus
    bits/dim, receptive fields per level and light-cone counts; error correction conditions on the pixels kept.
    """

    #: Noise (grey levels) with which error correction trusts the uncorrupted pixels.
    noise_levels = 8.0

    def __init__(self, device: str = "cpu", seed: int = 0):
        super().__init__(device, seed)
        self.seed = seed

    def load(self, path) -> dict:
        """Load an images checkpoint (CheckpointError for any other, and the current flow kept)."""
        ckpt = load_checkpoint(path, target="images", device=self.device)
        self._set(ckpt.density, ckpt.target, ckpt.history)
        return {"name": ckpt.target.name, "L": ckpt.target.L, "params": ckpt.target.params(),
                "prior": ckpt.density.prior, "info": dict(ckpt.info)}

    def to_pixels(self, x: np.ndarray) -> np.ndarray:
        """Grey levels of fields in the flow's units (``[..., L, L]``)."""
        return self.target.to_pixels(x)

    def evaluation(self) -> dict:
        return evaluation(self._need(), self.target, self.seed)

    def photos(self, n: int) -> np.ndarray:
        """n held-out patches (dequantised, in the flow's units) drawn at random, kept as :attr:`samples`: the
        latent operations (mixing, error correction, responses) then act on real photographs."""
        test = self.target.data("test", torch.Generator().manual_seed(self.seed + 1))
        pick = torch.randperm(len(test), generator=self.gen, device=self.gen.device)[:n].cpu()
        self.samples = test[pick].numpy()
        return self.samples

    def receptive_fields(self, repeats: int) -> dict:
        """:func:`receptive_fields` over ``repeats`` prior draws; responses in grey levels."""
        out = receptive_fields(self._flow(), self._need().sample_prior(repeats, self.gen))
        out["responses"] = out["responses"] * self.target.scale
        return out

    def light_cone(self, sizes, patch: int) -> dict:
        return light_cone_counts(self._flow(), sizes, patch, self.seed)

    def _repair_target(self, corrupted: torch.Tensor, patch: torch.Tensor) -> KnownPixels:
        return KnownPixels(self._need(), corrupted, ~patch.to(torch.bool), self.noise_levels / self.target.scale)
