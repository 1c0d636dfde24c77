"""Studies: what a panel and ``rgviz-batch`` both run, each a function or object with a plain-data result.

A study takes parameters, runs engine code and returns numpy arrays, dicts and dataclasses that a
test, a panel or a script can read without Qt. The CLI subcommands (:mod:`engine.cli`) parse
arguments, show progress and write files around them; the panels (``rgviz.ui``) build the
parameters, start a job and draw. Figures of a study live in :mod:`engine.plots`.

- :mod:`.sweep`: the sweep summary (estimates, best collapse), its tables and files.
- :mod:`.rgflow`: the default temperature fans, the RG tables and files.
- :mod:`.dynamics`: tau_int(T, L) per algorithm and the dynamic exponent z; live autocorrelations.
- :mod:`.correlation`: G(r) of snapshots averaged over frames, with exponential and power-law fits.
- :mod:`.files`: the CSV writer of the studies' tables.
"""
