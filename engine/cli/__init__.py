"""``rgviz-batch``: the engine as a command line, one module per subcommand.

Each subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Results go to stdout as JSON, files to ``--out``; progress bars go to stderr. Bad input exits
with status 2 and one line naming the parameter and what is allowed: never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import ParameterError

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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except ParameterError as err:
        print(f"rgviz-batch: error: {err}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as err:
        print(f"rgviz-batch: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rgviz-batch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
