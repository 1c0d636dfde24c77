"""Every subcommand of ``rgviz-batch`` against bad input, table-driven.

Each case must end with exit status 2 (130 for Ctrl+C), exactly one line on stderr naming the
parameter, no traceback, and every file that was there before unchanged: the output file a run
would replace, or a file already in its output folder.
"""

from __future__ import annotations

import pytest
from campaign import record
from files import bad_checkpoints, good_checkpoint

from engine.cli import main

TINY = {  # the smallest valid run of each subcommand; a case adds one bad option
    "simulate": ["simulate", "--L", "4", "--sweeps", "5", "--thermalize", "0"],
    "sweep": ["sweep", "--L", "4", "--T", "2.2", "2.5", "--sweeps", "5", "--thermalize", "0"],
    "rgflow": ["rgflow", "--L", "8", "--T", "2.2", "--levels", "1", "--samples", "40", "--thermalize", "20"],
    "dynamics": ["dynamics", "--L", "4", "--T", "2.2", "--sweeps", "200", "--thermalize", "0"],
    "train": ["train", "--target", "ising", "--T", "2.5", "--L", "4", "--steps", "1", "--batch", "4",
              "--hidden", "4", "--couplings", "1", "--eval", "16"],
    "resume": ["train", "--steps", "1", "--batch", "4", "--eval", "16"],  # train --resume adds the checkpoint
    "sample": ["sample", "--checkpoint", "{ckpt}", "--n", "50"],
    "bulk": ["bulk", "--checkpoint", "{ckpt}", "--samples", "100"],
    "deepnets-phase": ["deepnets", "phase", "--sw2", "0.5:2:3", "--sb2", "0:0.1:2"],
    "deepnets-measure": ["deepnets", "measure", "--sw2", "1.2", "--width", "8", "--depth", "2", "--draws", "2",
                         "--pairs", "1"],
    "deepnets-train": ["deepnets", "train", "--depths", "2", "--sw2", "1.5", "--width", "4", "--steps", "1"],
    "soc": ["soc", "--L", "6", "--grains", "100", "--piles", "2"],
    "images": ["images", "train", "--size", "4", "--steps", "1", "--batch", "4", "--hidden", "4", "--couplings", "1"],
    "cone": ["images", "cone", "--sizes", "4", "8"],
}
DEEPNETS = ("deepnets-phase", "deepnets-measure", "deepnets-train")
FOLDER_OUT = {"sweep", "rgflow", "dynamics", "bulk", "soc", "cone", *DEEPNETS}
FILE_OUT = {"simulate": "run.npz", "train": "flow.pt", "resume": "flow.pt", "images": "flow.pt"}

CASES = [
    # ranges and finiteness
    ("simulate", ["--T", "nan"], "T:"), ("simulate", ["--T", "inf"], "T:"), ("simulate", ["--L", "3"], "L:"),
    ("simulate", ["--sweeps", "0"], "sweeps:"), ("simulate", ["--seed", "-1"], "seed:"),
    ("simulate", ["--bond-disorder", "2"], "bond-disorder:"),
    ("simulate", ["--measure-every", "0"], "measure-every:"),
    ("sweep", ["--T", "nan"], "--T"), ("sweep", ["--seed", "-1"], "seed:"), ("sweep", ["--J", "inf"], "J:"),
    ("sweep", ["--T", "2:3:0"], "--T"),
    ("rgflow", ["--seed", "-1"], "seed:"), ("rgflow", ["--J", "nan"], "J:"), ("rgflow", ["--L", "2"], "L:"),
    ("rgflow", ["--T", "-1"], "T:"), ("rgflow", ["--samples", "0"], "samples:"),
    ("dynamics", ["--seed", "-1"], "seed:"), ("dynamics", ["--T", "0"], "T:"),
    ("dynamics", ["--sweeps", "10"], "sweeps:"),
    ("train", ["--lr", "nan"], "lr:"), ("train", ["--lr", "-1"], "lr:"), ("train", ["--steps", "0"], "steps:"),
    ("train", ["--T", "nan"], "T:"), ("train", ["--hidden", "0"], "hidden:"), ("train", ["--seed", "-1"], "seed:"),
    ("train", ["--L", "6"], "L:"), ("train", ["--clip", "inf"], "clip:"),
    ("train", ["--mass-covering", "-1"], "mass-covering:"),
    ("sample", ["--seed", "-1"], "seed:"), ("sample", ["--n", "0"], "n:"), ("sample", ["--n", "1e12"], "--n"),
    ("bulk", ["--seed", "-1"], "seed:"), ("bulk", ["--w0", "nan"], "w0:"), ("bulk", ["--w0", "inf"], "w0:"),
    ("bulk", ["--blocks", "1"], "blocks:"), ("bulk", ["--samples", "1e12"], "--samples"),
    ("bulk", ["--tasks", "0"], "tasks:"), ("bulk", ["--mcmc", "bulk", "--chains", "4", "--tasks", "3"], "tasks:"),
    ("rgflow", ["--address", "127.0.0.1:6379"], "address:"), ("bulk", ["--executor", "dask"], "--executor"),
    ("deepnets-phase", ["--sw2", "0:2:5"], "sw2:"), ("deepnets-phase", ["--sb2", "0.3:0.1:5"], "sb2:"),
    ("deepnets-phase", ["--cut-sb2", "nan"], "cut sb2:"), ("deepnets-phase", ["--sw2", "1:2:0"], "--sw2"),
    ("deepnets-measure", ["--width", "1"], "width:"), ("deepnets-measure", ["--draws", "1"], "draws:"),
    ("deepnets-measure", ["--c0", "2"], "c0:"), ("deepnets-measure", ["--sw2", "-1"], "sw2:"),
    ("deepnets-measure", ["--seed", "-1"], "seed:"), ("deepnets-measure", ["--q0", "inf"], "q0:"),
    ("deepnets-train", ["--lr", "nan"], "lr:"), ("deepnets-train", ["--depths", "0"], "depths:"),
    ("deepnets-train", ["--steps", "0"], "steps:"), ("deepnets-train", ["--test-fraction", "0.9"], "test fraction:"),
    ("deepnets-train", ["--seeds", "0"], "seeds:"),
    ("soc", ["--seed", "-1"], "seed:"), ("soc", ["--L", "3"], "L:"), ("soc", ["--L", "6,6"], "L:"),
    ("soc", ["--grains", "1"], "grains:"), ("soc", ["--piles", "0"], "piles:"), ("soc", ["--warmup", "-1"], "warmup:"),
    ("soc", ["--model", "ising"], "--model"), ("soc", ["--L", "6,x"], "--L"),
    ("images", ["--lr", "nan"], "lr:"), ("images", ["--steps", "0"], "steps:"), ("images", ["--size", "6"], "--size"),
    ("images", ["--hidden", "0"], "hidden:"), ("images", ["--batch", "1000000000"], "batch:"),
    ("images", ["--resume", "{ckpt}"], "images"), ("cone", ["--sizes", "6"], "sizes:"),
    ("cone", ["--patch", "9"], "patch:"), ("cone", ["--checkpoint", "{ckpt}"], "images"),
    # options that do not apply to the model or mode
    ("rgflow", ["--model", "xy", "--rule", "majority"], "rule:"),
    ("rgflow", ["--model", "xy", "--couplings", "nn"], "couplings:"),
    ("sample", ["--chains", "0"], "chains:"), ("sample", ["--mcmc", "physical", "--chains", "1000"], "chains:"),
    ("resume", ["--resume", "{ckpt}", "--hidden", "4,4"], "hidden:"),
    ("resume", ["--resume", "{ckpt}", "--couplings", "3"], "couplings:"),
    ("resume", ["--resume", "{ckpt}", "--target", "phi4"], "phi4"),
    ("simulate", ["--model", "xy", "--h", "0.1", "--bond-disorder", "0.1"], "bond-disorder:"),
    # memory the run would need, and huge counts
    ("simulate", ["--L", "200000"], "L:"),
    ("simulate", ["--sweeps", "1000000000000", "--T", "2", "2.1", "2.2"], "sweeps:"),
    ("sweep", ["--T", "2:3:1000000000000"], "--T"), ("sweep", ["--L", "200000"], "L:"),
    ("sweep", ["--T", "2:3:10000", "--sweeps", "100000000"], "sweeps:"),
    ("dynamics", ["--L", "200000"], "L:"),
    ("rgflow", ["--samples", "100000000000"], "samples:"), ("rgflow", ["--L", "1048576"], "samples:"),
    ("train", ["--L", "65536"], "L:"), ("train", ["--batch", "1000000000"], "batch:"),
    ("train", ["--hidden", "1000000,1000000"], "hidden:"), ("train", ["--eval", "100000000000"], "eval:"),
    ("sample", ["--n", "100000000"], "n:"), ("sample", ["--n", "1000000000000"], "n:"),
    ("bulk", ["--samples", "1000000000000"], "samples:"),
    ("deepnets-phase", ["--sw2", "0.5:2:1000", "--sb2", "0:0.3:1000"], "sw2:"),
    ("deepnets-measure", ["--width", "20000", "--draws", "10000"], "width:"),
    ("deepnets-train", ["--width", "4096", "--depths", "1000", "--sw2", "0.5:4:1000"], "width:"),
    ("soc", ["--grains", "100000000000"], "grains:"), ("soc", ["--L", "6,100000"], "L:"),
    # unwritable outputs, found before the run (a file where a folder should be)
    *[(cmd, ["--out", "{blocked}/x"], "out:") for cmd in ("simulate", "sweep", "rgflow", "dynamics", "train", "bulk",
                                                          "soc", *DEEPNETS)],
    ("train", ["--log", "{blocked}/log.csv"], "log:"), ("simulate", ["--out", "{folder}"], "out:"),
    # refused after the output folder was made: the folders the run created are removed again
    ("simulate", ["--out", "{folder}/new/run.npz", "--algorithm", "foo"], "algorithm:"),
    ("train", ["--out", "{folder}/new/sub/f.pt", "--batch", "1000000000"], "batch:"),
    ("rgflow", ["--out", "{folder}/new/rg", "--couplings", "bogus"], "operators:"),
]
CHECKPOINT_FILES = ["malicious-pickle", "malicious-torch", "truncated", "empty", "foreign-text", "foreign-torch",
                    "newer-version", "wrong-shape", "huge-L", "huge-hidden", "nan-weights", "bad-training"]
CASES += [(cmd, ["--checkpoint", "{bad:" + name + "}"], "") for cmd in ("sample", "bulk", "cone")
          for name in CHECKPOINT_FILES]
CASES += [("resume", ["--resume", "{bad:" + name + "}"], "") for name in CHECKPOINT_FILES]


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    folder = tmp_path_factory.mktemp("material")
    marker = folder / "EXECUTED"
    blocked = folder / "blocked"
    blocked.write_text("a file, not a folder\n")
    return {"ckpt": str(good_checkpoint(folder / "good.pt")), "blocked": str(blocked), "marker": marker,
            "bad": {k: str(v) for k, v in bad_checkpoints(folder, marker).items()}}


def _fill(token: str, material: dict, tmp_path) -> str:
    if token.startswith("{bad:"):
        return material["bad"][token[5:-1]]
    return token.format(ckpt=material["ckpt"], blocked=material["blocked"], folder=tmp_path)


@pytest.mark.parametrize("command,extra,fragment", CASES,
                         ids=[f"{c}{'_'.join(e).replace('/', '|')}" for c, e, _ in CASES])
def test_bad_input_is_one_line_and_nothing_is_lost(command, extra, fragment, material, tmp_path, capsys):
    argv = [_fill(t, material, tmp_path) for t in TINY[command] + extra] + ["--no-progress"]
    precious = None
    if command in FOLDER_OUT and "--out" not in extra:
        out = tmp_path / "out"
        out.mkdir()
        precious = out / "estimates.json"
        argv += ["--out", str(out)]
    elif command in FILE_OUT and "--out" not in extra:
        precious = tmp_path / FILE_OUT[command]
        argv += ["--out", str(precious)]
    if precious is not None:
        precious.write_bytes(b"results of an earlier run\n")
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse: usage errors
        status = exc.code
    except BaseException as err:  # noqa: BLE001 - counted as a traceback
        record(clean=False, traceback=True, executed=material["marker"].exists())
        raise AssertionError(f"{type(err).__name__} escaped: {err}") from err
    err = capsys.readouterr().err
    lost = precious is not None and precious.read_bytes() != b"results of an earlier run\n"
    clean = status == 2 and len(err.strip().splitlines()) == 1 and fragment in err
    record(clean=clean, traceback="Traceback" in err, lost=lost, executed=material["marker"].exists())
    assert clean, (status, err)
    assert "Traceback" not in err and not lost and not material["marker"].exists()
    assert not (tmp_path / "new").exists()
