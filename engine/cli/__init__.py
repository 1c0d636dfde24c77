"""``rgviz-batch``: the engine as a command line, one module per subcommand.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``; :data:`SUBCOMMANDS` names
them with their help lines. Only the subcommand named on the command line is imported, so ``--help`` and
argument errors answer without loading every model. Every subcommand imports torch in ``run`` only (their
choices come from :mod:`engine.names`; ``train``'s work is :mod:`engine.cli.training`), so their own ``--help``
answers without it too.
Results go to stdout as JSON, files to ``--out``; progress bars go to stderr. Bad input exits
with status 2 and one line naming the parameter and what is allowed: never a traceback. Bad input
includes an unusable checkpoint or session file and an output that cannot be written; every
output path is probed (:class:`engine.validate.Outputs`) before the work starts. Ctrl+C exits with
status 130 and one line; files already written are complete (atomic writes), and folders the
failed run created and left empty are removed.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import CheckpointError, ParameterError, SessionFormatError
from ..io import WriteError
from ..validate import Outputs

#: Errors that mean bad input (exit status 2): parameters, unusable files, unwritable outputs.
BAD_INPUT = (ParameterError, CheckpointError, SessionFormatError, WriteError)

#: Subcommand modules and their help lines, in the order ``--help`` lists them.
SUBCOMMANDS = {
    "simulate": "Monte Carlo simulation of a lattice model; prints estimates with errors as JSON",
    "sweep": "temperature sweep over several sizes: curves, Binder crossings, finite-size scaling",
    "rgflow": "real-space RG: block-spin trajectories, separatrix Kc and MCRG exponents; XY Kosterlitz flow",
    "dynamics": "critical slowing down: tau_int(T, L) per update algorithm and the dynamic exponent z (2D Ising)",
    "train": "train a hierarchical normalizing flow (neural RG) on phi^4 or Ising; prints F_q as JSON",
    "sample": "sample a trained neural-RG checkpoint exactly (independent Metropolis, bulk or physical HMC)",
    "bulk": "bulk geometry of a trained neural RG: latent correlations against hyperbolic distance",
    "deepnets": "critical initialisation of deep networks: mean-field phase diagram, random networks, trainability",
    "soc": "self-organised criticality: BTW or Manna sandpile avalanches, exponents and finite-size scaling",
    "images": "RG-Flow on natural-image patches: train, bits/dim against a Gaussian, receptive fields, light cone",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(2, f"rgviz-batch: error: {message}\n")


def build_parser(command: str) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported and given its arguments (the others list their help)."""
    parser = _Parser(prog="rgviz-batch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_line in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line)
        if name == command:
            module = importlib.import_module(f"{__name__}.{name}")
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def _fail(message: str, status: int) -> int:
    print(f"rgviz-batch: {message}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    outputs = Outputs()
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        # the top level has no options but --help, so a subcommand can only be the first word
        args = build_parser(argv[0] if argv else "").parse_args(argv)
        args.outputs = outputs
        status = int(args._run(args) or 0)
    except KeyboardInterrupt:
        status = _fail("interrupted", 130)
    except BAD_INPUT as err:
        status = _fail(f"error: {_one_line(err)}", 2)
    except MemoryError:
        status = _fail("error: out of memory", 1)
    except (OSError, ValueError) as err:
        status = _fail(f"error: {_one_line(err)}", 1)
    if status != 0:
        outputs.remove_empty()
    return status


def _one_line(err: BaseException) -> str:
    lines = str(err).splitlines()
    return lines[0] if lines else type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
