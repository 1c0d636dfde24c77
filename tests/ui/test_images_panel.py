"""The RG-Flow images panel: every operation runs in a job and its result is drawn; bad input says why."""

import json

import numpy as np
import pytest
import torch

from engine.nrg.checkpoint import save_checkpoint
from engine.nrg.imagelab import build_image_flow
from rgviz.ui.images import ImagesPanel
from rgviz.ui.registry import PANELS


def _random(flow, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    density, target = build_image_flow(8, "laplace", couplings=2, hidden=(8,), seed=0)
    _random(density.flow, 1)
    return save_checkpoint(tmp_path_factory.mktemp("img") / "images_L8.pt", density, target)


def _run(qtbot, job):
    assert job is not None
    qtbot.waitUntil(lambda: job.is_done, timeout=120_000)


def test_images_panel_runs_every_operation_and_exports(panels, checkpoint, qtbot, tmp_path):
    panel = panels(ImagesPanel)
    _run(qtbot, panel.load(checkpoint))
    assert "L = 8" in panel.status.text() and "laplace" in panel.status.text()
    _run(qtbot, panel.generate())
    assert panel.results["samples"].shape == (16, 8, 8)
    _run(qtbot, panel.show_photos())
    photos = panel.results["samples"]
    assert photos.min() >= 0 and photos.max() <= 256  # grey levels of real patches
    _run(qtbot, panel.evaluate())
    assert "held-out bits/dim" in panel.sample_text.text() and "Gaussian" in panel.sample_text.text()
    _run(qtbot, panel.show_hierarchy())
    assert len(panel.results["hierarchy"]["levels"]) == 4 and "receptive field" in panel.hierarchy_text.text()
    panel.mix_level.setValue(1)
    _run(qtbot, panel.show_mixing())
    assert panel.results["mixing"].shape == (3, 8, 8)
    panel.patch_i.setValue(2)
    panel.patch_j.setValue(2)
    panel.patch_size.setValue(2)
    panel.proposals.setValue(32)
    panel.hmc_steps.setValue(2)
    _run(qtbot, panel.show_error_correction())
    assert "resampled" in panel.repair_text.text() and "HMC acceptance" in panel.repair_text.text()
    _run(qtbot, panel.show_light_cone())
    counts = [r["count"] for r in panel.results["cone"]["sizes"]]
    assert counts == sorted(counts) and "log2 N" in panel.repair_text.text()
    files = panel.export_data(tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "images.json").read_text())
    assert doc["light_cone"]["sizes"][0]["count"] == counts[0] and len(files) == 2
    assert set(np.load(tmp_path / "out" / "images.npz")) >= {"samples", "mixing", "responses", "repair_cone"}


def test_bad_input_and_a_foreign_checkpoint_say_why(panels, checkpoint, qtbot):
    panel = panels(ImagesPanel)
    errors = []
    panel.error.connect(errors.append)
    _run(qtbot, panel.load("phi4_L8_crit"))
    assert errors and "images" in errors[-1]
    _run(qtbot, panel.load(checkpoint))
    panel.patch_i.setValue(7)
    panel.patch_size.setValue(4)
    _run(qtbot, panel.show_error_correction())
    assert "must fit" in errors[-1] and "#b00" in panel.status.text()


def covered(view) -> float:
    """The share of an image view's data area that its image covers."""
    area = view.getViewBox().sceneBoundingRect()
    image = view.image.sceneBoundingRect().intersected(area)
    return image.width() * image.height() / (area.width() * area.height())


def test_samples_fill_their_view_in_a_wide_and_a_tall_panel(panels, checkpoint, qtbot):
    """16 samples in a fixed 8 columns covered 42% of the wide view and 11% of the tall one (blank bands)."""
    panel = panels(ImagesPanel)
    _run(qtbot, panel.load(checkpoint))
    _run(qtbot, panel.generate())
    for size in ((1000, 700), (500, 1000)):
        panel.resize(*size)
        qtbot.wait(50)
        assert covered(panel.sample_view) > 0.8, size


def test_the_panel_is_registered():
    """(Its controls' tooltips are checked with every panel's, in test_tooltips.)"""
    assert any(spec.key == "images" for spec in PANELS)
