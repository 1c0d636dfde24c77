"""Neural-network RG: a hierarchical (MERA-like) bijective flow trained on a lattice action.

x = G(z) maps latent ("bulk") variables z, one per site and each tagged with the RG level at
which it froze, to a field x on the L x L torus. Modules:

- :mod:`.coupling`: RealNVP bijector blocks, :mod:`.ode`: neural-ODE blocks; :mod:`.flow`: the MERA layout;
- :mod:`.density`: prior + flow (+ symmetrisation) as a density q(x) one can sample;
- :mod:`.targets`: complex phi^4 and the Ising model (Hubbard-Stratonovich field);
- :mod:`.train`: reverse/forward KL with guard rails; :mod:`.sampling`: exact sampling
  (reweighting, independent Metropolis, bulk and physical HMC); :mod:`.checkpoint`: files;
- :mod:`.mcmc`: parallel chains of observables (independent / bulk / physical) after a burn-in, with errors
  that see autocorrelation and disagreement between chains, and a convergence verdict;
- :mod:`.images`, :mod:`.imagelab`: RG-Flow on natural-image patches (maximum likelihood, Laplace prior).
"""

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .density import FlowDensity
from .flow import HierarchicalFlow
from .mcmc import run_chain
from .targets import PRESETS, IsingHS, Phi4, make_target
from .train import TrainingDiverged, evaluate, train_forward_kl, train_reverse_kl

__all__ = [
    "PRESETS", "Checkpoint", "CheckpointError", "FlowDensity", "HierarchicalFlow", "IsingHS", "Phi4",
    "TrainingDiverged", "evaluate", "load_checkpoint", "make_target", "run_chain", "save_checkpoint",
    "train_forward_kl", "train_reverse_kl",
]
