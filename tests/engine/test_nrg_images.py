"""RG-Flow on images: the Laplace prior, maximum likelihood on patches, bits/dim, receptive fields, light cone."""

import json
import math

import numpy as np
import pytest
import torch
from test_nrg_flow import randomised

from engine.cli import main
from engine.errors import CheckpointError, ParameterError
from engine.nrg.checkpoint import load_checkpoint, save_checkpoint
from engine.nrg.density import (
    LAPLACE_SCALE,
    FlowDensity,
    prior_log_density,
    prior_sample,
)
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.imagelab import (
    ImageLab,
    build_image_flow,
    light_cone_counts,
    receptive_fields,
    resized_flow,
)
from engine.nrg.images import (
    SPLIT_COLUMN,
    GaussianBaseline,
    ImagePatches,
    grey_photographs,
    pixel_patches,
)
from engine.nrg.latent import causal_cone
from engine.nrg.train import train_forward_kl

torch.set_num_threads(1)


def test_laplace_log_density_is_the_unit_variance_laplace_density():
    z = torch.linspace(-6, 6, 101, dtype=torch.float64)
    b = 1 / math.sqrt(2)
    assert torch.allclose(prior_log_density("laplace", z), -z.abs() / b - math.log(2 * b), atol=1e-14)
    assert torch.allclose(prior_log_density("laplace", z),
                          torch.distributions.Laplace(0.0, b).log_prob(z), atol=1e-12)
    grid = torch.linspace(-40, 40, 400001, dtype=torch.float64)  # normalised, unit variance
    density = prior_log_density("laplace", grid).exp()
    assert torch.trapezoid(density, grid).item() == pytest.approx(1.0, abs=1e-6)
    assert torch.trapezoid(density * grid ** 2, grid).item() == pytest.approx(1.0, abs=1e-6)


def test_laplace_draws_follow_the_density():
    z = prior_sample("laplace", (200_000,), torch.Generator().manual_seed(0), torch.zeros((), dtype=torch.float64))
    n = len(z)
    assert z.mean().item() == pytest.approx(0.0, abs=5 / math.sqrt(n))
    assert z.var().item() == pytest.approx(1.0, abs=5 * math.sqrt(5 / n))  # Var(z^2) = 5 for unit-variance Laplace
    assert z.abs().mean().item() == pytest.approx(LAPLACE_SCALE, abs=5 * LAPLACE_SCALE / math.sqrt(n))
    assert torch.isfinite(z).all()


def test_density_with_laplace_prior_is_its_log_prob_and_round_trips_a_checkpoint(tmp_path):
    flow = randomised(HierarchicalFlow(4, 1, n_couplings=2, hidden=(6,)), 1).double()
    density = FlowDensity(flow, "none", "laplace")
    x, log_q = density.sample(5, torch.Generator().manual_seed(2))
    assert torch.allclose(density.log_prob(x), log_q, atol=1e-9)
    z, logdet = flow.inverse(x)
    assert torch.allclose(log_q, prior_log_density("laplace", z).flatten(1).sum(-1) + logdet, atol=1e-12)
    target = ImagePatches(4, mean=100.0, scale=50.0)
    path = save_checkpoint(tmp_path / "f.pt", density, target)
    ckpt = load_checkpoint(path, target="images")
    assert ckpt.density.prior == "laplace" and ckpt.target.params() == {"mean": 100.0, "scale": 50.0}
    with pytest.raises(ParameterError):
        FlowDensity(flow, "none", "cauchy")


def test_an_older_checkpoint_without_a_prior_loads_with_the_normal_one(tmp_path):
    path = save_checkpoint(tmp_path / "f.pt", FlowDensity(HierarchicalFlow(4, 1, n_couplings=1, hidden=(4,))),
                           ImagePatches(4, mean=1.0, scale=2.0))
    data = torch.load(path, weights_only=True)
    del data["prior"]
    torch.save(data, path)
    assert load_checkpoint(path, target="images").density.prior == "normal"
    with pytest.raises(CheckpointError, match="learnt from images"):  # lattice tools need an action
        load_checkpoint(path)
    data["prior"] = "cauchy"
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="prior"):
        load_checkpoint(path, target="images")


def test_patches_are_integer_grey_levels_split_by_region():
    china, flower = grey_photographs()
    assert china.shape == flower.shape == (427, 640) and china.dtype == np.uint8
    train, test = pixel_patches(16, "train"), pixel_patches(16, "test")
    assert train.shape == (2 * 103 * 117, 16, 16) and test.shape == (2 * 26 * 10, 16, 16)
    assert np.array_equal(train[0], china[:16, :16]) and np.array_equal(test[0], china[:16, SPLIT_COLUMN:SPLIT_COLUMN + 16])
    target = ImagePatches(16)
    x = target.data("test", torch.Generator().manual_seed(0), torch.float64)
    v = target.to_pixels(x.numpy())[:, 0] - test  # the dequantisation noise, in grey levels
    assert v.min() >= -1e-9 and v.max() < 1 + 1e-9 and abs(v.mean() - 0.5) < 0.01


def test_maximum_likelihood_lowers_the_loss_on_a_tiny_dataset():
    gen = torch.Generator().manual_seed(0)
    # correlated, sparse data: Laplace sources mixed by a fixed smooth kernel
    s = prior_sample("laplace", (512, 1, 4, 4), gen, torch.zeros(()))
    data = s + 0.8 * s.roll(1, -1) + 0.5 * s.roll(1, -2)
    density, _ = build_image_flow(4, "laplace", couplings=3, hidden=(16,), seed=0)
    before = -density.log_prob(data).mean().item()
    history = train_forward_kl(density, data, steps=150, batch=64, gen=gen, lr=1e-2)
    after = -density.log_prob(data).mean().item()
    assert after < before - 2.0
    assert np.mean(history["loss"][-30:]) < np.mean(history["loss"][:10]) - 2.0


def test_bits_per_dim_of_an_identity_flow_on_gaussian_data_is_the_gaussian_entropy():
    """x ~ N(0, 1) in the flow's units is v + u ~ N(mean, scale^2); its bits/dim is
    (ln(2 pi e) / 2 + ln scale) / ln 2 in expectation, and per patch exactly the normal log-density."""
    target = ImagePatches(4, mean=100.0, scale=30.0)
    density = FlowDensity(HierarchicalFlow(4, 1, n_couplings=2, hidden=(4,)), "none", "normal").double()
    x = torch.randn(20_000, 1, 4, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    bits = target.bits_per_dim(density.log_prob(x))
    exact = ((0.5 * x ** 2 + 0.5 * math.log(2 * math.pi)).flatten(1).mean(-1) + math.log(30.0)) / math.log(2)
    assert torch.allclose(bits, exact, atol=1e-12)
    analytic = (0.5 * math.log(2 * math.pi * math.e) + math.log(30.0)) / math.log(2)
    assert bits.mean().item() == pytest.approx(analytic, abs=4 * bits.std().item() / math.sqrt(len(bits)))
    baseline = target.bits_per_dim(GaussianBaseline.fit(x).log_prob(x))  # fitted = exact, up to O(D^2 / n)
    assert baseline.mean().item() == pytest.approx(analytic, abs=0.01)


def test_gaussian_baseline_is_the_multivariate_normal_density():
    from scipy.stats import multivariate_normal

    gen = torch.Generator().manual_seed(4)
    x = torch.randn(400, 1, 2, 2, generator=gen, dtype=torch.float64) @ torch.tensor([[1.0, 0.5], [0.0, 1.0]],
                                                                                       dtype=torch.float64)
    model = GaussianBaseline.fit(x)
    flat = x.flatten(1).numpy()
    expected = multivariate_normal(flat.mean(0), np.cov(flat.T, bias=True)).logpdf(flat)
    assert np.allclose(model.log_prob(x).numpy(), expected, atol=1e-10)


def _brute_force_cone(flow: HierarchicalFlow, patch: torch.Tensor) -> torch.Tensor:
    """Latents k with dx_P/dz_k != 0 or dz_k/dx_P != 0, from the full Jacobians."""
    L = flow.L
    z = torch.randn(1, 1, L, L, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: flow(v.reshape(z.shape))[0].flatten(), z.flatten())
    x = flow(z)[0]
    inv = torch.autograd.functional.jacobian(lambda v: flow.inverse(v.reshape(x.shape))[0].flatten(), x.flatten())
    p = patch.flatten()
    return ((jac[p] != 0).any(0) | (inv[:, p] != 0).any(1)).reshape(L, L)


@pytest.mark.parametrize("L, at, size", [(4, (1, 1), 1), (8, (3, 4), 2), (8, (0, 7), 1), (16, (5, 9), 3)])
def test_causal_cone_counts_match_the_jacobian_sparsity(L, at, size):
    flow = randomised(HierarchicalFlow(L, 1, n_couplings=2, hidden=(4,)), L).double()
    patch = torch.zeros(L, L, dtype=torch.bool)
    patch[at[0]:at[0] + size, at[1]:at[1] + size] = True
    cone = causal_cone(flow, patch, torch.Generator().manual_seed(1))[0]
    brute = _brute_force_cone(flow, patch)
    assert torch.equal(cone, brute)
    assert patch.sum() < cone.sum() < (L * L if L > 4 else L * L + 1)  # a real cone, not everything (L > 4)


def test_light_cone_grows_by_a_fixed_number_of_latents_per_level():
    flow = randomised(HierarchicalFlow(8, 1, n_couplings=2, hidden=(4,)), 2)
    out = light_cone_counts(flow, [4, 8, 16, 32], patch=1, seed=0)
    counts = [r["count"] for r in out["sizes"]]
    assert counts == [sum(r["by_level"]) for r in out["sizes"]]
    steps = np.diff(counts)
    assert (steps == steps[0]).all() and steps[0] > 0  # linear in log2 N = 2 levels per factor 4 in N
    assert out["fit"]["per_log2_N"] == pytest.approx(steps[0] / 2)
    resized = resized_flow(flow, 16)
    assert torch.equal(resized.decimators[3].couplings[0].net[0].weight, flow.decimators[2].couplings[0].net[0].weight)


def test_receptive_fields_grow_with_level():
    flow = randomised(HierarchicalFlow(16, 1, n_couplings=2, hidden=(4,)), 5).double()
    z = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rows = receptive_fields(flow, z)["levels"]
    support = [r["support"] for r in rows]
    assert support[0] < support[1] < support[2] and support[0] >= 4
    levels = flow.latent_levels()
    assert all(levels[tuple(r["node"])] == r["level"] for r in rows)


def test_lab_operations_are_deterministic(tmp_path):
    density, target = build_image_flow(8, "laplace", couplings=2, hidden=(4,), seed=0)
    randomised(density.flow, 3)
    target = ImagePatches(8, mean=target.mean, scale=target.scale)
    path = save_checkpoint(tmp_path / "img.pt", density, target)
    results = []
    for _ in range(2):
        lab = ImageLab(seed=7)
        lab.load(path)
        results.append((lab.generate(3), lab.receptive_fields(2)["levels"], lab.light_cone([4, 8], 2),
                        lab.error_correction(2, 2, 2, 16)["repaired"], lab.evaluation()))
    a, b = results
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2] and np.array_equal(a[3], b[3])
    assert a[4] == b[4]
    with pytest.raises(CheckpointError, match="images"):
        ImageLab().load("phi4_L8_crit")


def test_error_correction_keeps_the_latents_outside_the_cone_and_fits_the_known_pixels(tmp_path):
    density, target = build_image_flow(8, "laplace", couplings=2, hidden=(4,), seed=0)
    randomised(density.flow, 4)
    lab = ImageLab(seed=1)
    lab.load(save_checkpoint(tmp_path / "img.pt", density, target))
    out = lab.error_correction(3, 3, 2, 256, hmc_steps=6)
    assert 0 <= out["hmc_acceptance"] <= 1
    cone = torch.as_tensor(out["cone"])
    z_bad = density.flow.inverse(torch.as_tensor(out["corrupted"])[None])[0][0]
    z_fixed = density.flow.inverse(torch.as_tensor(out["repaired"])[None])[0][0]
    assert torch.allclose(z_fixed[~cone], z_bad[~cone], atol=1e-4)
    known = np.ones((8, 8), bool)
    known[3:5, 3:5] = False
    # the chain prefers proposals that fit the known pixels: better than a draw ignoring them
    blind = lab.to_pixels(lab.generate(64))[:, 0]
    seen = lab.to_pixels(out["corrupted"])[0]
    fixed_err = np.abs(lab.to_pixels(out["repaired"])[0] - seen)[known].mean()
    assert fixed_err < np.median(np.abs(blind - seen)[:, known].mean(1))


def test_cli_trains_resumes_and_evaluates(tmp_path, capsys):
    out = tmp_path / "f.pt"
    common = ["--json", "--no-progress"]
    assert main(["images", "train", "--size", "4", "--couplings", "1", "--hidden", "4", "--steps", "4",
                 "--save-every", "2", "--out", str(out), *common]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["total_steps"] == 4 and first["gaussian_bits_per_dim"]["mean"] > 0
    data = torch.load(out, weights_only=True)
    assert data["prior"] == "laplace" and data["training"]["plan"]["steps"] == 4
    assert main(["images", "train", "--resume", str(out), "--steps", "2", "--out", str(out), *common]) == 0
    assert json.loads(capsys.readouterr().out)["total_steps"] == 6
    assert main(["images", "cone", "--checkpoint", str(out), "--sizes", "4", "8", *common]) == 0
    small, large = (r["count"] for r in json.loads(capsys.readouterr().out)["sizes"])
    assert 1 < small < large
    assert main(["images", "cone", "--checkpoint", str(out), "--sizes", "6", *common]) == 2
    assert main(["images", "evaluate", "--checkpoint", "phi4_L8_crit", *common]) == 2
    assert main(["sample", "--checkpoint", str(out), "--n", "10", *common]) == 2  # no action to sample
