"""rgviz: the desktop application (PySide6 + pyqtgraph) on top of the ``engine`` library."""
