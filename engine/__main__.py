"""``python -m engine`` runs the batch CLI (Ctrl+C while the engine is still importing ends it quietly too)."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:
    print("rgviz-batch: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
