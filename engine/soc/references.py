"""Literature values of the 2D sandpile exponents, with the spread the literature has.

P(x) ~ x^-tau_x for the avalanche size s, area a and duration T, up to a cutoff x_c ~ L^D_x. BTW
has no clean finite-size scaling (its distributions are multifractal: effective exponents drift with
L and with the fit window, De Menech, Stella and Tebaldi 1998), so its reference is a range. The
Manna model scales cleanly (one universality class with the other stochastic sandpiles).

Both models satisfy <s> ~ L^2 exactly (:mod:`engine.soc.exact`), so D (2 - tau_s) = 2 when the
distribution scales: D = 2.75 gives tau_s = 1.27.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """A value, the half-width of its spread in the literature, and where it comes from."""

    value: float
    spread: float
    source: str

    def to_dict(self) -> dict:
        return {"value": self.value, "spread": self.spread, "source": self.source}


#: model -> quantity -> reference. Quantities: tau_s, tau_a, tau_T (distribution exponents), D (size cutoff
#: dimension, s_c ~ L^D).
REFERENCES: dict[str, dict[str, Reference]] = {
    "btw": {
        "tau_s": Reference(1.25, 0.05, "effective 1.20-1.30, drifting with L (Manna 1991: 1.22; Lubeck and "
                                       "Usadel 1997: 1.293); no clean scaling"),
        "D": Reference(2.73, 0.05, "moment analysis, Lubeck and Usadel 1997; De Menech et al. 1998"),
        "tau_T": Reference(1.48, 0.06, "Lubeck and Usadel 1997: 1.480; strong corrections"),
    },
    "manna": {
        "tau_s": Reference(1.28, 0.02, "Chessa et al. 1999; Lubeck 2000: 1.27-1.28"),
        "D": Reference(2.75, 0.02, "Chessa et al. 1999; Lubeck 2000: 2.75-2.76"),
        "tau_a": Reference(1.36, 0.03, "Lubeck 2000"),
        "tau_T": Reference(1.50, 0.03, "Lubeck 2000"),
    },
}
