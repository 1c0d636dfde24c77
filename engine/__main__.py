"""``python -m engine`` runs the batch CLI."""

import sys

from .cli import main

sys.exit(main())
