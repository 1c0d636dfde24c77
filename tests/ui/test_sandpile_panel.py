"""The Sandpile panel runs the study in a job, draws it, exports what the CLI writes and keeps its settings."""

import json

import numpy as np

from rgviz.ui.sandpile import SandpilePanel, sand_image


def test_sandpile_panel_runs_draws_and_exports(panels, qtbot, tmp_path):
    panel = panels(SandpilePanel)
    panel.sizes.setText("6 8")
    panel.grains.setValue(400)
    panel.piles.setValue(4)
    panel.start()
    qtbot.waitUntil(lambda: panel.status.text().startswith("done"), timeout=60_000)
    view = panel.view
    assert sorted(view.result.runs) == [6, 8] and all(r.complete for r in view.result.runs.values())
    assert panel.image.image.shape == (8, 8, 3)
    assert panel.table.rowCount() > 5 and panel.status.text().startswith("done")
    written = panel.export_data(tmp_path)
    names = {p.name for p in written}
    assert {"soc.json", "distributions.csv", "avalanches.npz", "P_s.png", "moments.svg"} <= names
    doc = json.loads((tmp_path / "soc.json").read_text())
    assert doc["mean_size"]["8"]["mean"] == float(view.result.runs[8].avalanches.size.mean())


def test_bad_sizes_are_one_red_line_and_nothing_starts(panels, qtbot):
    panel = panels(SandpilePanel)
    panel.sizes.setText("3 x")
    with qtbot.waitSignal(panel.error, timeout=2000):
        panel.start()
    assert not panel.busy() and "L" in panel.status.text()


def test_settings_round_trip(panels):
    panel = panels(SandpilePanel)
    panel.model.setCurrentText("manna")
    panel.sizes.setText("8 16")
    panel.seed.setValue(7)
    state = json.loads(json.dumps(panel.session_state()))
    other = panels(SandpilePanel)
    other.session_restorer(state)()
    assert other.session_state() == state


def test_sand_image_marks_the_last_avalanche():
    heights = np.array([[0, 3], [1, 2]])
    last = np.array([[False, True], [False, False]])
    rgb = sand_image(heights, last)
    assert rgb.shape == (2, 2, 3) and rgb[0, 1, 0] > rgb[0, 1, 1] + 50  # red over the dark sand
    assert len({tuple(c) for c in rgb[~last]}) == 3
