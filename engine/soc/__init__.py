"""Self-organised criticality: sandpiles (:mod:`.sandpile`), exact results (:mod:`.exact`), avalanche
statistics and their exponents (:mod:`.analysis`), and the literature's values (:mod:`.references`)."""
