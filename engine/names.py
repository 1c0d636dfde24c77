"""Names the command line offers as choices, free of torch so that ``rgviz-batch ... --help`` and argument
errors answer without importing it; the modules that implement them use these (tests/engine/test_cli_light.py
checks that they agree).
"""

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
#: The lattice models of :data:`engine.session.MODELS`, in that order.
MODEL_NAMES = ("ising", "xy", "phi4")
#: The models a temperature sweep runs (:mod:`engine.sweep`).
SWEEP_MODELS = ("ising", "xy")
#: Where a sweep's runs go: this process, or a Ray cluster (:mod:`engine.cluster`).
EXECUTORS = ("local", "ray")
#: The Ising model's update algorithms (:class:`engine.models.ising.IsingModel`), as ``dynamics`` offers them.
ISING_ALGORITHMS = ("metropolis", "heatbath", "wolff", "swendsen-wang")
#: Exact samplers of ``rgviz-batch sample`` (:mod:`engine.nrg.mcmc`) and of ``bulk`` (:mod:`engine.holography.sampling`).
SAMPLE_METHODS = ("independent", "bulk", "physical")
BULK_METHODS = ("auto", "independent", "bulk")
#: Steps (HMC: trajectories) every chain of ``sample`` discards before measuring, by default.
SAMPLE_BURN_IN = 100
#: Activations of the deep-network study (:data:`engine.deepnets.meanfield.ACTIVATIONS`).
DEEPNET_ACTIVATIONS = ("tanh", "relu")
#: Parts of ``rgviz-batch deepnets``.
DEEPNET_PARTS = ("phase", "measure", "train")
#: Default depths of ``rgviz-batch deepnets train`` (:class:`engine.deepnets.trainability.TrainabilityConfig`).
TRAIN_DEPTHS = (2, 5, 10, 15, 20, 30, 45, 60)
#: Sandpile models of ``rgviz-batch soc`` (:data:`engine.soc.sandpile.MODELS`).
SOC_MODELS = ("btw", "manna")
#: Latent priors of a flow (:data:`engine.nrg.density.PRIORS`) and the image patch sizes (:mod:`engine.nrg.images`).
FLOW_PRIORS = ("normal", "laplace")
IMAGE_PATCH_SIZES = (4, 8, 16, 32)
#: Neural-RG targets (:mod:`engine.nrg.targets`), their phi^4 presets, the flow's symmetrisations
#: (:mod:`engine.nrg.density`) and the dtypes ``train`` offers.
NRG_TARGETS = ("ising", "phi4")
NRG_PRESETS = ("critical", "disordered")
FLOW_SYMMETRIES = ("none", "z2", "u1")
#: Bijector blocks of the hierarchical flow (:data:`engine.nrg.flow.BIJECTORS`).
BIJECTORS = ("coupling", "ode")
DTYPE_NAMES = ("float32", "float64")
#: Block-spin RG (:mod:`engine.rg.operators`, :mod:`engine.rg.mcrg`): every operator, those of the fitted
#: Hamiltonian by default, and the MCRG operators even and odd under spin flip.
RG_OPERATORS = ("nn", "nnn", "plaq", "d2", "knight", "field", "tri", "line3")
RG_COUPLINGS = ("nn", "nnn", "plaq", "d2")
MCRG_EVEN = ("nn", "nnn", "plaq", "d2", "knight")
MCRG_ODD = ("field", "tri", "line3")
