"""Prints the bad-input campaign's table (:mod:`campaign`) after the run."""

from __future__ import annotations

import pytest
from campaign import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY["attempts"]:
        terminalreporter.section("bad-input campaign")
        for key, value in TALLY.items():
            terminalreporter.write_line(f"{key:>14}: {value}")
