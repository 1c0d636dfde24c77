"""``rgviz-batch soc``: JSON on stdout, the same numbers in soc.json, every avalanche in avalanches.npz."""

import json

import numpy as np

from engine.cli import main


def test_soc_json_round_trip(tmp_path, capsys):
    out = tmp_path / "soc"
    argv = ["soc", "--model", "btw", "--L", "6,8", "--grains", "400", "--piles", "4", "--seed", "3", "--json",
            "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((out / "soc.json").read_text())
    assert written["format"] == "rgviz-soc" and printed["config"]["L"] == [6, 8]
    for key in ("exponents", "mean_size", "references", "density"):
        assert printed[key] == written[key]
    assert printed["exponents"]["size"]["moments"]["D"] > 0
    with np.load(out / "avalanches.npz") as npz:
        for L in (6, 8):
            assert len(npz[f"L{L}_size"]) == 400
            assert npz[f"L{L}_size"].mean() == printed["mean_size"][str(L)]["mean"]
            assert npz[f"L{L}_signal"].sum() == npz[f"L{L}_size"][npz[f"L{L}_pile"] == 0].sum()
    balance = written["mass_balance"]["8"]
    assert balance["added"] == balance["lost"] + balance["mass"] - balance["initial_mass"]
    assert (out / "distributions.csv").read_text().startswith("quantity,L,x,P,error,count")
    assert main(argv[:-3] + ["--no-progress"]) == 0  # same seed: the same numbers
    assert json.loads(capsys.readouterr().out)["mean_size"] == printed["mean_size"]


def test_soc_bad_input_is_one_line_and_status_2(capsys):
    for argv in (["soc", "--L", "3"], ["soc", "--L", "8", "--grains", "2", "--piles", "4"],
                 ["soc", "--L", "8", "--piles", "0"]):
        assert main(argv + ["--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error" in err
