"""The bad-input campaign's tally, shared by its tests and printed by conftest at the end of the run.

Each case records whether it ended in one clean error line (or an exception of the documented type),
whether a traceback escaped, whether a file that existed before was changed or lost, and whether a
planted payload ran (a pickle that would create a marker file).
"""

from __future__ import annotations

TALLY = {"attempts": 0, "clean errors": 0, "tracebacks": 0, "data lost": 0, "code executed": 0}


def record(*, clean: bool, traceback: bool = False, lost: bool = False, executed: bool = False) -> None:
    TALLY["attempts"] += 1
    TALLY["clean errors"] += clean
    TALLY["tracebacks"] += traceback
    TALLY["data lost"] += lost
    TALLY["code executed"] += executed
