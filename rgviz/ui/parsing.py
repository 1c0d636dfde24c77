"""Lists of numbers typed into a line edit ("8 16, 32"), read with one clear error naming the field.

Shared by the panels that take several sizes or temperatures; kept apart from any panel so that
panels import it, not each other.
"""

from __future__ import annotations

from engine import validate
from engine.errors import ParameterError


def _numbers(text: str, name: str, kind: type, what: str) -> tuple:
    """``what`` is the sentence's subject, e.g. "sizes must be integers"."""
    try:
        return tuple(kind(tok) for tok in text.replace(",", " ").split())
    except ValueError:
        raise ParameterError(name, f"{what} separated by spaces, got {text!r}") from None


def parse_sizes(text: str) -> tuple[int, ...]:
    """Lattice sizes from text like ``"8 16, 32"``."""
    sizes = _numbers(text, "L", int, "sizes must be integers")
    if not sizes or min(sizes) < 2:
        raise ParameterError("L", f"needs one or more sizes >= 2, got {text!r}")
    return sizes


def parse_temperatures(text: str) -> tuple[float, ...]:
    """Starting temperatures from text like ``"2.0 2.2, 2.4"``."""
    values = _numbers(text, "T", float, "temperatures must be numbers")
    if not values:
        raise ParameterError("T", f"needs one or more temperatures > 0, got {text!r}")
    validate.numbers("T", values, positive=True)
    return values
