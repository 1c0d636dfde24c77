"""``rgviz-batch images``: RG-Flow on natural images (the hierarchical flow trained by maximum likelihood).

- ``train``: maximum likelihood on grey 16 x 16 patches of the photographs scikit-learn ships, Laplace prior
  (:mod:`engine.nrg.images`); a resumable checkpoint like ``rgviz-batch train``'s;
- ``evaluate``: bits/dim on the held-out patches against a full-covariance Gaussian fitted on the training
  patches (same dequantisation, same units), and sample figures;
- ``receptive``: the image's response to one latent per level, with the receptive field's size per level;
- ``cone``: the causal cone of a patch (the latents error correction resamples) counted over sizes N.

JSON to stdout (``--json``), figures and data to ``--out``. torch is imported by ``run`` only.
"""

from __future__ import annotations

import argparse
import json
import time

from .. import validate
from ..errors import ParameterError
from ..names import DEVICE_CHOICES, FLOW_PRIORS, IMAGE_PATCH_SIZES
from .args import layer_widths

#: The shipped RG-Flow checkpoint (``engine/resources``), the default of every action but ``train``.
SHIPPED = "images_L16"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    train = actions.add_parser("train", help="maximum-likelihood training on image patches; writes a checkpoint")
    train.add_argument("--size", type=int, choices=IMAGE_PATCH_SIZES, default=None, help="patch size L (default 16)")
    train.add_argument("--prior", choices=FLOW_PRIORS, default=None, help="latent prior (default laplace)")
    train.add_argument("--levels", type=int, default=None, help="RG levels (default log2 L)")
    train.add_argument("--couplings", type=int, default=None, help="affine couplings per bijector block (default 8)")
    train.add_argument("--hidden", type=layer_widths, default=None, help="hidden widths (default 32,32)")
    train.add_argument("--steps", type=int, default=None,
                       help="steps of a new cosine schedule (default 1000; with --resume: finish the saved one)")
    train.add_argument("--batch", type=int, default=None, help="patches per step (default 64)")
    train.add_argument("--lr", type=float, default=None, help="initial learning rate, cosine decay (default 3e-3)")
    train.add_argument("--clip", type=float, default=None, help="gradient-norm clip (default 10)")
    train.add_argument("--save-every", type=int, default=25, metavar="K",
                       help="with --out: rewrite the checkpoint every K steps, resumable (0: only at the end)")
    train.add_argument("--log", default=None, metavar="FILE.csv", help="append every step's record to this CSV")
    train.add_argument("--resume", default=None, metavar="CKPT", help="continue training this checkpoint")
    train.add_argument("--out", default=None, metavar="CKPT.pt", help="write the trained checkpoint here")
    train.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    # the schedule and shape checks shared with ``train`` read these; image flows are built of couplings
    train.set_defaults(mass_covering=None, bijector=None, ode_steps=None)
    evaluate = actions.add_parser("evaluate", help="held-out bits/dim against a full-covariance Gaussian")
    evaluate.add_argument("--samples", type=int, default=16, help="flow samples drawn for the figure")
    receptive = actions.add_parser("receptive", help="receptive fields of one latent per level")
    receptive.add_argument("--repeats", type=int, default=16, help="base images averaged over")
    cone = actions.add_parser("cone", help="causal-cone latent counts against N = L^2")
    cone.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64], help="lattice sizes L (powers of 2)")
    cone.add_argument("--patch", type=int, default=1, help="side of the corrupted square patch")
    for p in (evaluate, receptive, cone):
        p.add_argument("--checkpoint", default=SHIPPED, help=f"an images checkpoint (default the shipped {SHIPPED})")
        p.add_argument("--out", default=None, metavar="DIR", help="write JSON, data and figures here")
    for p in (train, evaluate, receptive, cone):
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--json", action="store_true", help="print one JSON document")
        p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    validate.integer("seed", args.seed)
    doc = {"train": _train, "evaluate": _evaluate, "receptive": _receptive, "cone": _cone}[args.action](args)
    print(json.dumps(doc, allow_nan=False) if args.json else _text(doc))
    return 0


def _text(doc: dict) -> str:
    return "\n".join(f"{k}: {v}" for k, v in doc.items())


def _train(args: argparse.Namespace) -> dict:
    from ..device import configure_threads, device_label, make_generator, resolve_device
    from ..nrg.checkpoint import load_checkpoint, save_checkpoint
    from ..nrg.imagelab import build_image_flow, evaluation
    from ..nrg.train import new_history, train_forward_kl
    from ..progress import cli_bar
    from .training import _plan, _replay_values, _same_shape, _StepLog

    for name in ("steps", "batch", "couplings", "levels"):
        if getattr(args, name) is not None:
            validate.integer(name, getattr(args, name), 1)
    validate.integer("save-every", args.save_every, 0)
    for name in ("lr", "clip"):
        if getattr(args, name) is not None:
            validate.number(name, getattr(args, name), positive=True)
    for name in ("out", "log"):
        if getattr(args, name):
            args.outputs.file(name, getattr(args, name))
    configure_threads()
    device = resolve_device(args.device)
    gen = make_generator(args.seed, device)
    training, earlier = None, []
    if args.resume:
        ckpt = load_checkpoint(args.resume, target="images", L=args.size, device=device)
        density, target, history, training = ckpt.density, ckpt.target, ckpt.history, ckpt.training
        _same_shape(args, density.flow)
        earlier = ckpt.info.get("commands", [])
    else:
        args.size, args.prior = args.size or 16, args.prior or "laplace"
        args.couplings, args.hidden = args.couplings or 8, args.hidden or (32, 32)
        args.batch = args.batch or 64
        density, target = build_image_flow(args.size, args.prior, args.couplings, args.hidden, args.levels,
                                           args.seed)
        density = density.to(device)
        history = new_history()
    flow = density.flow
    validate.flow_training(flow.L, 1, flow.levels, flow.n_couplings, flow.hidden, args.batch or 64, 0, 4)
    first_step = int(history["step"][-1]) + 1 if history.get("step") else 0
    plan, done = _plan(args, training, first_step)
    resume = {"schedule": (done, plan["steps"])}
    if done:
        resume["optimizer_state"] = training["optimizer"]
        if device.type == "cpu" and training.get("generator") is not None:
            gen.set_state(training["generator"])
    command = "rgviz-batch images train " + " ".join(_replay_values(args, (
        "size", "prior", "levels", "couplings", "hidden", "steps", "batch", "lr", "clip", "resume", "seed",
        "save_every")))
    info = {"seed": args.seed, "device": device_label(device), "command": command, "commands": [*earlier, command]}
    state: dict = {}
    if args.out:
        def save(optimizer_state: dict) -> None:
            state.update(optimizer=optimizer_state, generator=gen.get_state(), plan=plan)
            save_checkpoint(args.out, density, target, history, info, state)
        resume.update(save_every=args.save_every, on_save=save)
    data = target.data("train", dtype=next(density.parameters()).dtype).to(device)
    steps = plan["steps"] - done
    log = _StepLog(args.log)
    start = time.perf_counter()
    try:
        with cli_bar(f"images L={flow.L}", steps, enabled=not args.no_progress) as bar:
            history = train_forward_kl(density, data, steps=steps, batch=plan["batch"], gen=gen, lr=plan["lr"],
                                       clip=plan["clip"], noise=target.dequantisation_width(), history=history,
                                       progress=bar, on_step=log, **resume)
    finally:
        log.close()
    seconds = time.perf_counter() - start
    doc = {**evaluation(density, target, args.seed), "steps": steps, "total_steps": len(history["step"]),
           "batch": plan["batch"], "seconds": seconds, "seconds_per_step": seconds / steps,
           "device": device_label(device)}
    if args.out:
        info.update({k: doc[k] for k in ("bits_per_dim", "gaussian_bits_per_dim")})
        doc["checkpoint"] = str(save_checkpoint(args.out, density, target, history, info, state))
    return doc


def _load(args: argparse.Namespace):
    from ..device import configure_threads
    from ..nrg.imagelab import ImageLab

    configure_threads()
    lab = ImageLab(seed=args.seed)
    lab.load(args.checkpoint)
    return lab


def _evaluate(args: argparse.Namespace) -> dict:
    validate.integer("samples", args.samples, 1, 1024)
    out = args.outputs.folder("out", args.out) if args.out else None
    lab = _load(args)
    doc = {"checkpoint": args.checkpoint, **lab.evaluation()}
    if out is not None:
        from ..io import write_json
        from ..plots.images import grey_grid, write_grey_png

        write_json(out / "evaluate.json", doc, "rgviz-images", indent=2)
        write_grey_png(out / "samples.png", grey_grid(lab.to_pixels(lab.generate(args.samples))[:, 0]))
    return doc


def _receptive(args: argparse.Namespace) -> dict:
    validate.integer("repeats", args.repeats, 1, 4096)
    out = args.outputs.folder("out", args.out) if args.out else None
    lab = _load(args)
    result = lab.receptive_fields(args.repeats)
    doc = {"checkpoint": args.checkpoint, "repeats": args.repeats, "units": "sites; responses in grey levels",
           "levels": result["levels"]}
    if out is not None:
        from ..figures import write_figures
        from ..io import npz_stamp, write_json, write_npz
        from ..plots.images import grey_grid, receptive_figure, write_grey_png

        write_json(out / "receptive.json", doc, "rgviz-images", indent=2)
        write_npz(out / "receptive.npz", {**npz_stamp("rgviz-images"), "responses": result["responses"]})
        responses = result["responses"]
        write_grey_png(out / "responses.png", grey_grid(responses / responses.max(axis=(1, 2), keepdims=True), hi=1))
        write_figures(receptive_figure(result), out)
    return doc


def _cone(args: argparse.Namespace) -> dict:
    for L in args.sizes:
        validate.integer("sizes", L, 2, 256)
        if L & (L - 1):
            raise ParameterError("sizes", f"must be powers of 2, got {L}")
    validate.integer("patch", args.patch, 1, min(args.sizes))
    out = args.outputs.folder("out", args.out) if args.out else None
    lab = _load(args)
    result = lab.light_cone(args.sizes, args.patch)
    doc = {"checkpoint": args.checkpoint, "patch": args.patch, **result}
    if out is not None:
        from ..figures import write_figures
        from ..io import write_json
        from ..plots.images import cone_figure

        write_json(out / "cone.json", doc, "rgviz-images", indent=2)
        write_figures([cone_figure(result)], out)
    return doc
