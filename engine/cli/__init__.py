"""``rgviz-batch``: the engine as a command line, one module per subcommand.

Each subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
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

from ..errors import ParameterError
from ..io import WriteError
from ..nrg.checkpoint import CheckpointError
from ..session import SessionFormatError
from ..validate import Outputs

#: Errors that mean bad input (exit status 2): parameters, unusable files, unwritable outputs.
BAD_INPUT = (ParameterError, CheckpointError, SessionFormatError, WriteError)

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = ("simulate", "sweep", "rgflow", "dynamics", "train", "sample", "bulk")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(2, f"rgviz-batch: error: {message}\n")


def _available():
    for name in SUBCOMMANDS:
        try:
            yield importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rgviz-batch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in _available():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _fail(message: str, status: int) -> int:
    print(f"rgviz-batch: {message}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    outputs = Outputs()
    try:
        args = build_parser().parse_args(argv)
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
