"""Which random initialisations train: test accuracy on scikit-learn's digits after a fixed number of SGD steps.

Schoenholz et al. (ICLR 2017) predict that a network of depth L trains only when a signal survives it, L below
about 6 xi_c; xi_c diverges at the order-to-chaos line, so the trainable depth peaks there. Here tanh networks
(64 inputs, ``width`` units in each of ``depth`` hidden layers, 10 outputs) start from W ~ N(0, sigma_w^2 / fan-in),
b ~ N(0, sigma_b^2) and take ``steps`` plain SGD steps on the cross-entropy, every sigma_w^2 of a row at once as
one batched network (their parameters are disjoint, so the summed loss gives each its own gradient), all on the
same minibatches. The digits (1797 8 x 8 images, shipped with scikit-learn, no download) are standardised with
the training split's statistics; a fixed fraction is held out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch

from ..names import TRAIN_DEPTHS
from ..progress import Progress

CLASSES = 10


@dataclass
class Digits:
    """Standardised train and test splits."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits(test_fraction: float, seed: int) -> Digits:
    """scikit-learn's digits, split at random (``seed``) and standardised per pixel with the train statistics
    (a pixel constant on the training split stays 0)."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    x, y = data.data.astype(np.float32), data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(test_fraction * len(x))
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(0), x[train].std(0)
    std[std == 0] = 1.0
    x = (x - mean) / std
    return Digits(*(torch.from_numpy(a) for a in (x[train], y[train], x[test], y[test])))


class BatchedTanhNet:
    """One tanh network per sigma_w^2, stored as stacked weights [S, fan_out, fan_in]."""

    def __init__(self, sw2: np.ndarray, sb2: float, width: int, depth: int, inputs: int, gen: torch.Generator):
        scale = torch.tensor(np.sqrt(sw2), dtype=torch.float32)[:, None, None]
        sizes = [inputs] + [width] * depth + [CLASSES]
        self.weights, self.biases = [], []
        for fan_in, fan_out in pairwise(sizes):
            w = torch.randn(len(sw2), fan_out, fan_in, generator=gen) * scale / np.sqrt(fan_in)
            b = torch.randn(len(sw2), 1, fan_out, generator=gen) * np.sqrt(sb2)
            self.weights.append(w.requires_grad_())
            self.biases.append(b.requires_grad_())

    def parameters(self) -> list[torch.Tensor]:
        return self.weights + self.biases

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """[S, batch, classes] for inputs x [batch, inputs]."""
        h = x.expand(len(self.weights[0]), *x.shape)
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            if k:
                h = torch.tanh(h)
            h = torch.baddbmm(b, h, w.transpose(1, 2))
        return h


@dataclass
class TrainabilityConfig:
    """The grid (depths x sigma_w^2 at one sigma_b^2) and the training every cell gets."""

    depths: tuple[int, ...] = TRAIN_DEPTHS
    sw2: tuple[float, ...] = tuple(float(v) for v in np.round(np.linspace(0.5, 4.0, 11), 3))
    sb2: float = 0.05
    width: int = 64
    steps: int = 300
    batch: int = 64
    lr: float = 0.05
    test_fraction: float = 0.25
    seeds: int = 1
    seed: int = 0


@dataclass
class Trainability:
    """Test accuracy [depth, sigma_w^2] (mean over seeds) and its standard error (0 with one seed)."""

    config: TrainabilityConfig
    accuracy: np.ndarray
    error: np.ndarray
    rows_done: int  # depths finished (fewer when stopped)


def run_trainability(config: TrainabilityConfig, progress: Progress | None = None,
                     on_partial: Callable[[Trainability], None] | None = None) -> Trainability:
    """Train every (depth, sigma_w^2) for every seed; the depths done so far go to ``on_partial``. Seed k uses
    ``seed + k`` for the split, the initial weights and the minibatches."""
    sw2 = np.asarray(config.sw2, float)
    acc = np.full((config.seeds, len(config.depths), len(sw2)), np.nan)
    total, done = config.seeds * len(config.depths) * config.steps, 0

    def result(rows: int) -> Trainability:
        finished = acc[:, :rows]
        mean = np.full(acc.shape[1:], np.nan)
        error = np.full(acc.shape[1:], np.nan)
        if rows:
            mean[:rows] = finished.mean(0)
            error[:rows] = finished.std(0, ddof=1) / np.sqrt(config.seeds) if config.seeds > 1 else 0.0
        return Trainability(config, mean, error, rows)

    for i, depth in enumerate(config.depths):
        for k in range(config.seeds):
            gen = torch.Generator().manual_seed(config.seed + k)
            data = load_digits(config.test_fraction, config.seed + k)
            net = BatchedTanhNet(sw2, config.sb2, config.width, depth, data.x_train.shape[1], gen)
            for _ in range(config.steps):
                pick = torch.randint(len(data.y_train), (config.batch,), generator=gen)
                logits = net.logits(data.x_train[pick])
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CLASSES),
                                                         data.y_train[pick].repeat(len(sw2)), reduction="sum")
                gradients = torch.autograd.grad(loss / config.batch, net.parameters())
                with torch.no_grad():  # plain SGD (torch.optim would import torch._dynamo: seconds)
                    for p, g in zip(net.parameters(), gradients):
                        p -= config.lr * g
                done += 1
                if progress is not None:
                    progress(done, total)
            with torch.no_grad():
                predicted = net.logits(data.x_test).argmax(-1)
            acc[k, i] = (predicted == data.y_test).float().mean(1).numpy()
        if on_partial is not None:
            on_partial(result(i + 1))
    return result(len(config.depths))
