"""Test-session setup shared by engine and UI tests.

Qt reads ``QT_QPA_PLATFORM`` when the (single) QApplication is created, which pytest-qt does at the
first test that needs it, after collection. So the platform is chosen late: offscreen by default
(fast, no display needed, enough for 2D widgets), the X server that pytest-xvfb starts in its own
``pytest_configure`` only when a selected test is marked ``gl`` (OpenGL does not work offscreen).
A choice made at import time would run before Xvfb exists.
"""

from __future__ import annotations

import os

import pytest
import torch


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    torch.set_num_threads(1)  # on 2 shared cores, 2 intra-op threads ran 3-7x slower (OpenMP spin-waits)
    if "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        config._rgviz_platform_chosen = True  # ours to switch if GL tests are selected


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gl = [item for item in items if item.get_closest_marker("gl")]
    if not gl:
        return
    if getattr(config, "_rgviz_platform_chosen", False) and os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "xcb"
    elif os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        skip = pytest.mark.skip(reason="needs OpenGL: run with an X display (pytest-xvfb starts Xvfb)")
        for item in gl:
            item.add_marker(skip)
