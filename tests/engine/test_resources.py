"""Shipped checkpoints are package data, found by name from any directory."""

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.nrg.checkpoint import CheckpointError, load_checkpoint
from engine.resources import FOLDER, checkpoint_path, shipped


def test_shipped_checkpoints_are_listed_by_name():
    names = shipped()
    assert {"phi4_L8_crit", "phi4_L16_crit"} <= set(names)
    assert all(p.is_file() and p.parent == FOLDER for p in names.values())


def test_a_name_finds_the_shipped_file_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert checkpoint_path("phi4_L8_crit") == checkpoint_path("phi4_L8_crit.pt") == FOLDER / "phi4_L8_crit.pt"
    assert load_checkpoint("phi4_L8_crit").flow.L == 8


def test_a_local_file_wins_over_a_shipped_name_and_paths_stay_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("phi4_L8_crit.pt").write_bytes(b"")
    assert checkpoint_path("phi4_L8_crit.pt") == Path("phi4_L8_crit.pt")
    assert checkpoint_path("sub/phi4_L16_crit") == Path("sub/phi4_L16_crit")


def test_an_unknown_name_is_reported_with_the_shipped_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match="no such checkpoint file.*phi4_L16_crit"):
        load_checkpoint("phi4_L99")


def test_every_checkpoint_option_takes_a_shipped_name(tmp_path, monkeypatch, capsys):
    """sample and train --resume, run from a folder that holds no checkpoint (bulk loads through the same
    load_checkpoint)."""
    monkeypatch.chdir(tmp_path)
    assert main(["sample", "--checkpoint", "phi4_L8_crit", "--n", "50", "--seed", "1", "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["checkpoint"]["L"] == 8
    assert main(["train", "--resume", "phi4_L8_crit", "--steps", "1", "--batch", "4", "--eval", "16", "--device", "cpu",
                 "--out", "more.pt", "--json", "--no-progress"]) == 0
    capsys.readouterr()
    assert load_checkpoint("more.pt").flow.L == 8
