"""Real-space renormalization group.

- :mod:`.blocking`: block-spin maps (majority rule, decimation, XY block direction, phi^4 block
  average) and the tower L, L/b, L/b^2, ...
- :mod:`.operators`: Ising lattice operators (nn, nnn, plaquette, distance 2, ..., odd ones).
- :mod:`.pseudolikelihood`: renormalised couplings of blocked samples, with sandwich errors.
- :mod:`.mcrg`: Swendsen's MCRG eigenvalues and exponents y_t, y_h, with jackknife errors.
- :mod:`.flow`: trajectories in coupling space, their fate, the separatrix estimate of Kc.
- :mod:`.sampling`: Monte Carlo samples and their blocking towers, streamed or collected.
- :mod:`.ising_flow`: the whole Ising study (what ``rgviz-batch rgflow`` and the GUI run).
- :mod:`.kosterlitz`: the XY Kosterlitz flow (RK4, invariant, separatrix) and measured XY flows.
- :mod:`.teaching`: 1D decimation, the toy law df/dt = c f, fractional Brownian motion.
"""

from .blocking import BLOCK_MAPS, block_levels, decimate, majority, phi4_block, xy_block
from .flow import Separatrix, Trajectory, separatrix, trajectory
from .ising_flow import RGFlowConfig, RGFlowResult, run_ising_rgflow
from .mcrg import MCRGResult, level_values, mcrg_exponents
from .operators import OPERATORS, Operator, operator_values
from .pseudolikelihood import CouplingFit, fit_couplings, fit_levels
from .sampling import SamplingPlan, blocked_stream, collect_blocked

__all__ = [
    "BLOCK_MAPS", "block_levels", "decimate", "majority", "phi4_block", "xy_block",
    "Separatrix", "Trajectory", "separatrix", "trajectory",
    "RGFlowConfig", "RGFlowResult", "run_ising_rgflow",
    "MCRGResult", "level_values", "mcrg_exponents",
    "OPERATORS", "Operator", "operator_values",
    "CouplingFit", "fit_couplings", "fit_levels",
    "SamplingPlan", "blocked_stream", "collect_blocked",
]
