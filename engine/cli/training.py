"""The work of ``rgviz-batch train`` (:mod:`engine.cli.train` holds its arguments, free of torch).

Under ``torchrun`` (or with ``--ddp``) every process trains one share of the batch with DistributedDataParallel
(:mod:`engine.nrg.distributed`); rank 0 writes the checkpoint, the log and the output, in the same format.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

import torch

from .. import validate
from ..device import (
    configure_threads,
    device_label,
    make_generator,
    resolve_device,
)
from ..errors import ParameterError
from ..nrg import distributed
from ..nrg.checkpoint import MAX_L, load_checkpoint, save_checkpoint
from ..nrg.density import FlowDensity
from ..nrg.flow import HierarchicalFlow
from ..nrg.ode import hutchinson
from ..nrg.targets import PRESETS, make_target
from ..nrg.train import HISTORY_KEYS, evaluate, new_history, train_reverse_kl
from ..progress import cli_bar

DTYPES = {"float32": torch.float32, "float64": torch.float64}
# What a new plan uses where the command line is silent; a continued plan keeps its own.
PLAN_DEFAULTS = {"steps": 1000, "batch": 256, "lr": 3e-3, "clip": 10.0, "mass_covering": 0.0}


def _target(args: argparse.Namespace):
    args.target = args.target or "ising"
    args.L = 8 if args.L is None else args.L
    if args.target == "ising":
        for opt in ("t", "mu", "lam", "preset"):
            if getattr(args, opt) is not None:
                raise ParameterError(opt, "is a phi^4 option; the Ising target takes --T (and --a)")
        return make_target("ising", args.L, T=args.T, a=args.a)
    if args.T is not None or args.a is not None:
        raise ParameterError("T", "is an Ising option; phi^4 takes --t, --mu, --lam or --preset")
    params = dict(PRESETS[args.preset]) if args.preset else {}
    params.update({k: getattr(args, k) for k in ("t", "mu", "lam") if getattr(args, k) is not None})
    return make_target("phi4", args.L, **params)


def _plan(args: argparse.Namespace, training: dict | None, first_step: int) -> tuple[dict, int]:
    """The schedule this run follows and how many of its steps are already done.

    ``--resume`` without ``--steps`` continues the checkpoint's plan if it is unfinished; anything
    else starts a new plan at ``first_step`` from the command line and the defaults.
    """
    prev = (training or {}).get("plan")
    if args.resume and args.steps is None and isinstance(prev, dict) and first_step - prev["start"] < prev["steps"]:
        for key in ("batch", "lr", "clip", "mass_covering"):
            value = getattr(args, key)
            if value is not None and value != prev[key]:
                raise ParameterError(key.replace("_", "-"), f"is {prev[key]} in the unfinished schedule being "
                                     "continued; give --steps to start a new schedule with another value")
        return prev, first_step - prev["start"]
    plan = {key: PLAN_DEFAULTS[key] if getattr(args, key) is None else getattr(args, key) for key in PLAN_DEFAULTS}
    if plan["steps"] < 1:
        raise ParameterError("steps", f"must be >= 1, got {plan['steps']}")
    return {"start": first_step, **plan}, 0


class _StepLog:
    """Appends each step's record to a CSV as training goes (a header when the file is new)."""

    def __init__(self, path: str | None):
        self.fh = None
        if path:
            new = not Path(path).exists() or Path(path).stat().st_size == 0
            self.fh = open(path, "a", newline="")  # noqa: SIM115 (closed in close())
            self.writer = csv.DictWriter(self.fh, fieldnames=HISTORY_KEYS, extrasaction="ignore")
            if new:
                self.writer.writeheader()

    def __call__(self, record: dict) -> None:
        if self.fh is not None:
            self.writer.writerow(record)
            self.fh.flush()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()


#: The flow's shape: command-line option -> (default for a new flow, attribute of a loaded one).
SHAPE = {"levels": (None, "levels"), "couplings": (10, "n_couplings"), "hidden": ((10, 10, 10), "hidden"),
         "bijector": ("coupling", "bijector"), "ode_steps": (4, "ode_steps")}


def _check(args: argparse.Namespace) -> None:
    """Ranges and finiteness of every option, and the output paths, before anything is built."""
    for name, value, low in (("seed", args.seed, 0), ("save-every", args.save_every, 0), ("eval", args.eval, 2),
                             ("steps", args.steps, 1), ("batch", args.batch, 1), ("couplings", args.couplings, 1),
                             ("levels", args.levels, 1), ("ode-steps", args.ode_steps, 1)):
        if value is not None:
            validate.integer(name, value, low)
    if args.L is not None:
        validate.integer("L", args.L, 2, MAX_L)
    for name in ("T", "a", "t", "mu", "lam", "mass_covering", "lr", "clip"):
        if getattr(args, name) is not None:
            validate.number(name.replace("_", "-"), getattr(args, name), 0 if name == "mass_covering" else -math.inf,
                            positive=name in ("T", "lr", "clip"))
    if args.hidden is not None:
        for width in args.hidden:
            validate.integer("hidden", width, 1)
    for name in ("out", "log"):
        if getattr(args, name):
            args.outputs.file(name, getattr(args, name))


def _same_shape(args: argparse.Namespace, flow: HierarchicalFlow) -> None:
    """``--resume`` continues the checkpoint's flow: shape options, if given, must agree with it."""
    for option, (_, attr) in SHAPE.items():
        given, saved = getattr(args, option), getattr(flow, attr)
        if given is not None and (tuple(given) if option == "hidden" else given) != saved:
            raise ParameterError(option, f"is {saved} in the checkpoint being resumed; a resumed flow keeps its shape")


def run(args: argparse.Namespace) -> int:
    ranks = None
    if args.ddp or distributed.launched_by_torchrun():
        ranks = distributed.start(resolve_device(args.device))
    try:
        return _train(args, ranks)
    finally:
        if ranks is not None:
            distributed.stop()


def _train(args: argparse.Namespace, ranks: distributed.Ranks | None) -> int:
    if ranks is not None and ranks.rank > 0:  # rank 0 alone writes and reports
        args.out = args.log = None
        args.no_progress = True
    _check(args)
    configure_threads()
    device, dtype = ranks.device if ranks else resolve_device(args.device), DTYPES[args.dtype]
    training = None
    dtype_bytes = torch.finfo(dtype).bits // 8
    if args.resume:
        ckpt = load_checkpoint(args.resume, target=args.target, L=args.L, device=device, dtype=dtype)
        density, target, history, training = ckpt.density, ckpt.target, ckpt.history, ckpt.training
        _same_shape(args, density.flow)
        if args.symmetry is not None and args.symmetry != density.symmetry:
            raise ParameterError("symmetry", f"is {density.symmetry} in the checkpoint being resumed")
        flow = density.flow
        batch = args.batch or (training or {}).get("plan", {}).get("batch", PLAN_DEFAULTS["batch"])
        validate.flow_training(flow.L, flow.channels, flow.levels, flow.n_couplings, flow.hidden, batch, args.eval,
                               dtype_bytes, device)
    else:
        if args.bijector == "ode":  # one network per ODE block: --couplings is a coupling option
            if args.couplings is not None:
                raise ParameterError("couplings", "applies to coupling blocks, not to --bijector ode")
            args.couplings = 1
        for option, (default, _) in SHAPE.items():
            setattr(args, option, default if getattr(args, option) is None else getattr(args, option))
        target = _target(args)
        levels = args.levels or args.L.bit_length() - 1
        validate.flow_training(args.L, target.channels, levels, args.couplings, args.hidden,
                               args.batch or PLAN_DEFAULTS["batch"], args.eval, dtype_bytes, device)
        with torch.random.fork_rng(devices=[]):  # the initial weights follow --seed too
            torch.manual_seed(args.seed)
            flow = HierarchicalFlow(args.L, target.channels, args.levels, args.couplings, args.hidden, args.bijector,
                                    args.ode_steps)
        density = FlowDensity(flow, args.symmetry or target.symmetry).to(device=device, dtype=dtype)
        history = new_history()
    first_step = int(history["step"][-1]) + 1 if history.get("step") else 0
    plan, done = _plan(args, training, first_step)
    batch = ranks.share(plan["batch"]) if ranks else plan["batch"]
    if done:  # a continued schedule keeps its seed: ranks > 0 reseed every step from it and the step
        saved = ckpt.info.get("seed")
        args.seed = saved if isinstance(saved, int) and not isinstance(saved, bool) and saved >= 0 else args.seed
    gen = make_generator(ranks.seed(args.seed) if ranks else args.seed, device)
    resume = {"schedule": (done, plan["steps"])}
    if done:  # continuing: the optimiser's moments and rank 0's random stream pick up where they stopped (the
        # other ranks reseed at every step from the seed and the step, so they need no saved state)
        resume["optimizer_state"] = training["optimizer"]
        state = training.get("generator")
        if isinstance(state, torch.Tensor) and device.type == "cpu" and not (ranks and ranks.rank):
            gen.set_state(state)
    steps = plan["steps"] - done
    command = "rgviz-batch train " + " ".join(_replay(args))
    earlier = ckpt.info.get("commands", [ckpt.info["command"]] if "command" in ckpt.info else []) if args.resume else []
    info = {"seed": args.seed, "device": device_label(device), "command": command, "commands": [*earlier, command]}
    if ranks:
        info["processes"] = ranks.world
    state = {}
    if args.out:
        def save(optimizer_state: dict) -> None:
            state.update(optimizer=optimizer_state, generator=gen.get_state(), plan=plan)
            save_checkpoint(args.out, density, target, history, info, state)
        resume.update(save_every=args.save_every, on_save=save)
    log = _StepLog(args.log)
    start = time.perf_counter()
    try:
        with cli_bar(f"train {target.name} L={target.L}", steps, enabled=not args.no_progress) as bar, \
                hutchinson(density.flow, gen):  # ODE blocks estimate their trace while training
            history = train_reverse_kl(density, target, steps=steps, batch=batch, gen=gen, lr=plan["lr"],
                                       clip=plan["clip"], mass_covering=plan["mass_covering"], history=history,
                                       progress=bar, on_step=log, ranks=ranks, **resume)
    finally:
        log.close()
    if ranks is not None and ranks.rank > 0:
        return 0
    seconds = time.perf_counter() - start
    doc = {"target": target.name, "L": target.L, "params": target.params(),
           "flow": density.flow.hyperparameters(), "symmetry": density.symmetry,
           **evaluate(density, target, args.eval, gen),
           "steps": steps, "total_steps": len(history["step"]), "batch": plan["batch"], "seed": args.seed,
           "seconds": seconds, "seconds_per_step": seconds / steps, "device": device_label(device)}
    if args.out:
        info.update({k: doc[k] for k in ("free_energy", "ess", "acceptance", "seconds")})
        doc["checkpoint"] = str(save_checkpoint(args.out, density, target, history, info, state))
    if args.json:
        print(json.dumps(doc, allow_nan=False))
    else:
        _print(doc)
    return 0


def _replay(args: argparse.Namespace) -> list[str]:
    """The options of this run, to store with the checkpoint (a resumed run keeps its flow's shape)."""
    keys = ["target", "L", "T", "a", "preset", "t", "mu", "lam", "steps", "batch", "lr", "clip", "mass_covering",
            "resume", "seed", "device", "dtype", "save_every"]
    if not args.resume:
        keys += ["levels", "couplings", "symmetry", "hidden", "bijector", "ode_steps"]
    return _replay_values(args, keys)


def _replay_values(args: argparse.Namespace, keys) -> list[str]:
    """``--key value`` for each of ``keys`` that has a value (hidden widths joined by commas)."""
    out = []
    for key in keys:
        value = getattr(args, key)
        if value is not None:
            value = ",".join(str(h) for h in value) if key == "hidden" else value
            out += [f"--{key.replace('_', '-')}", str(value)]
    return out


def _print(doc: dict) -> None:
    f = doc["free_energy"]
    print(f"{doc['target']} L={doc['L']} {doc['params']}: F_q = {f['mean']:.6g} +- {f['error']:.2g}")
    if "exact_free_energy" in doc:
        print(f"  exact F = {doc['exact_free_energy']:.6g}, relative gap {doc['relative_gap']:.3%}")
    print(f"  ESS {doc['ess']:.3f}, acceptance {doc['acceptance']:.3f}, "
          f"{doc['seconds_per_step']:.3f} s/step on {doc['device']}")
    if "checkpoint" in doc:
        print(f"  saved {doc['checkpoint']}")
