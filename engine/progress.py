"""Progress reporting shared by the CLI (a bar on stderr) and the GUI (callbacks).

Long-running engine functions take ``progress: Callable[[int, int], None] | None`` (done, total).
The CLI passes :func:`cli_bar`'s callback; the GUI passes one that emits a Qt signal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

Progress = Callable[[int, int], None]


def cli_line(text: str) -> None:
    """A line on stderr that leaves a running :func:`cli_bar` intact (drawn again below it)."""
    tqdm.write(text, file=sys.stderr)


@contextmanager
def cli_bar(desc: str, total: int, enabled: bool = True) -> Iterator[Progress]:
    """A stderr progress bar that appears only for runs longer than a second."""
    bar = tqdm(total=total, desc=desc, file=sys.stderr, delay=1.0, disable=not enabled,
               dynamic_ncols=True, leave=False)

    def update(done: int, total_now: int) -> None:
        if total_now != bar.total:
            bar.total = total_now
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()
