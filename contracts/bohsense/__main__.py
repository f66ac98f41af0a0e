"""``python -m bohsense`` runs the ``bohsense`` command line."""

import sys

from bohsense.cli import main

sys.exit(main())
