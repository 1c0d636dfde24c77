"""rgviz's computational engine: models, samplers, measurements, RG and neural RG.

A pure library (torch and numpy only). It never imports Qt, pyqtgraph or vispy, so every
thing the application shows can also be produced by a script or by ``rgviz-batch``.
"""

__version__ = "0.1.0"
