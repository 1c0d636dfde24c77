"""Figure builders: turn engine results into plain-data :class:`engine.figures.Figure` specs.

The GUI panels and the batch CLI draw the same specs, so a figure exported from either looks the same.
"""
