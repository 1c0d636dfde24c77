"""Natural-image patches as data for the hierarchical flow (RG-Flow: Hu, Wu, You, Olshausen, Chen 2020).

The data are the two colour photographs scikit-learn ships (``sklearn.datasets.load_sample_images``: china.jpg
and flower.jpg, 427 x 640), turned grey (ITU-R 601 luma, rounded to integer levels 0..255) and cut into
L x L patches. Nothing is downloaded. The split is by region, so no held-out pixel is ever seen in training:
columns 0..479 of each photograph give the training patches (stride 4, overlapping), columns 480..639 the
held-out ones (stride L, disjoint, so their per-patch losses are close to independent).

The flow models a continuous density, the pixels are integers: each level v becomes v + u with u ~ U[0, 1)
(uniform dequantisation), whose density p(v + u) bounds the discrete probability: -log2 P(v) <= E_u[-log2 p].
The flow sees x = (v + u - mean) / scale (mean and scale of the training pixels). A density q(x) over D
pixels is a density over v + u of q(x) / scale^D, hence

    bits/dim = (-ln q(x) + D ln scale) / (D ln 2),

the number :meth:`ImagePatches.bits_per_dim` reports for the flow and for the Gaussian baseline
(:func:`gaussian_baseline`) alike, on the same dequantised held-out patches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from ..errors import ParameterError
from ..names import IMAGE_PATCH_SIZES

#: The first column of each photograph that belongs to the held-out region.
SPLIT_COLUMN = 480
TRAIN_STRIDE = 4
PATCH_SIZES = IMAGE_PATCH_SIZES


@cache
def grey_photographs() -> tuple[np.ndarray, ...]:
    """The shipped photographs as ``uint8`` grey levels ``[H, W]`` (luma 0.299 R + 0.587 G + 0.114 B)."""
    from sklearn.datasets import load_sample_images

    luma = np.array([0.299, 0.587, 0.114])
    return tuple(np.rint(im.astype(float) @ luma).clip(0, 255).astype(np.uint8) for im in load_sample_images().images)


def _cut(image: np.ndarray, L: int, stride: int) -> np.ndarray:
    """Every L x L window of ``image`` whose corner lies on the stride grid, ``[n, L, L]``."""
    windows = np.lib.stride_tricks.sliding_window_view(image, (L, L))
    return windows[::stride, ::stride].reshape(-1, L, L)


def pixel_patches(L: int, split: str) -> np.ndarray:
    """Integer grey levels ``[n, L, L]`` (uint8) of the ``"train"`` or ``"test"`` (held-out) patches."""
    if L not in PATCH_SIZES:
        raise ParameterError("size", f"must be one of {', '.join(map(str, PATCH_SIZES))}, got {L!r}")
    if split == "train":
        parts = [_cut(im[:, :SPLIT_COLUMN], L, TRAIN_STRIDE) for im in grey_photographs()]
    elif split == "test":
        parts = [_cut(im[:, SPLIT_COLUMN:], L, L) for im in grey_photographs()]
    else:
        raise ParameterError("split", f"must be train or test, got {split!r}")
    return np.concatenate(parts)


class ImagePatches:
    """The images "target": what maps pixels to the flow's x and back, and the bits/dim of a density.

    It has no action: a flow learns it from data (maximum likelihood), not from exp(-S).
    """

    name = "images"
    channels = 1
    symmetry = "none"

    def __init__(self, L: int, mean: float | None = None, scale: float | None = None):
        if L not in PATCH_SIZES:
            raise ParameterError("size", f"must be one of {', '.join(map(str, PATCH_SIZES))}, got {L!r}")
        self.L = L
        if mean is None or scale is None:
            pixels = pixel_patches(L, "train").astype(np.float64) + 0.5  # the mean of v + u
            mean, scale = float(pixels.mean()), float(pixels.std())
        if not (math.isfinite(mean) and math.isfinite(scale) and scale > 0):
            raise ParameterError("scale", f"must be a positive number, got {scale!r}")
        self.mean, self.scale = float(mean), float(scale)

    @property
    def N(self) -> int:
        return self.L * self.L

    def params(self) -> dict[str, float]:
        return {"mean": self.mean, "scale": self.scale}

    def exact_free_energy(self) -> None:
        return None

    def data(self, split: str, gen: torch.Generator | None = None, dtype=torch.float32) -> torch.Tensor:
        """Patches ``[n, 1, L, L]`` in the flow's units: integer levels, plus U[0, 1) noise from ``gen``
        (dequantised) or without it (``gen`` None: add :meth:`dequantisation_width` noise per batch)."""
        v = torch.from_numpy(pixel_patches(self.L, split)).to(torch.float64)[:, None]
        if gen is not None:
            v = v + torch.rand(v.shape, generator=gen, dtype=torch.float64)
        return ((v - self.mean) / self.scale).to(dtype)

    def dequantisation_width(self) -> float:
        """One grey level in the flow's units: the width of the uniform noise that dequantises."""
        return 1.0 / self.scale

    def to_pixels(self, x: np.ndarray) -> np.ndarray:
        """Grey levels (float, 0..256 for data) of fields in the flow's units."""
        return np.asarray(x) * self.scale + self.mean

    def bits_per_dim(self, log_q: torch.Tensor) -> torch.Tensor:
        """bits/dim of v + u for the log-densities ``log_q`` ``[n]`` of patches in the flow's units."""
        D = self.N
        return (-log_q.double() + D * math.log(self.scale)) / (D * math.log(2))


def mean_and_error(values: torch.Tensor) -> dict[str, float]:
    values = values.double()
    return {"mean": values.mean().item(), "error": values.std().item() / math.sqrt(len(values))}


@dataclass
class GaussianBaseline:
    """A full-covariance Gaussian fitted by maximum likelihood (mean, covariance) on flattened patches."""

    mean: torch.Tensor
    covariance: torch.Tensor

    @classmethod
    def fit(cls, x: torch.Tensor) -> GaussianBaseline:
        flat = x.flatten(1).double()
        mean = flat.mean(0)
        centred = flat - mean
        return cls(mean, centred.T @ centred / len(flat))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """ln N(x; mean, covariance), ``[n]``."""
        flat = x.flatten(1).double() - self.mean
        chol = torch.linalg.cholesky(self.covariance)
        w = torch.linalg.solve_triangular(chol, flat.T, upper=False)
        log_det = 2 * torch.log(torch.diagonal(chol)).sum()
        return -0.5 * (w * w).sum(0) - 0.5 * log_det - 0.5 * flat.shape[1] * math.log(2 * math.pi)


def gaussian_baseline(target: ImagePatches, seed: int = 0) -> dict[str, float]:
    """bits/dim of a full-covariance Gaussian fitted on the dequantised training patches, on the held-out ones
    dequantised exactly as :func:`held_out_bits_per_dim` does (same seed, same noise)."""
    gen = torch.Generator().manual_seed(seed)
    model = GaussianBaseline.fit(target.data("train", gen, torch.float64))
    test = target.data("test", torch.Generator().manual_seed(seed + 1), torch.float64)
    return mean_and_error(target.bits_per_dim(model.log_prob(test)))


@torch.no_grad()
def held_out_bits_per_dim(density, target: ImagePatches, seed: int = 0, batch: int = 512) -> dict[str, float]:
    """bits/dim of a flow density on the held-out patches (dequantised with ``seed + 1``), with its error."""
    p = next(density.parameters())
    test = target.data("test", torch.Generator().manual_seed(seed + 1), p.dtype).to(p.device)
    log_q = torch.cat([density.log_prob(test[i:i + batch]) for i in range(0, len(test), batch)])
    return {**mean_and_error(target.bits_per_dim(log_q)), "patches": len(test)}
