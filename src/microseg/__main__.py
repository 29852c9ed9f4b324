"""``python -m microseg`` runs the ``microseg`` command."""
import sys

from microseg.cli import main

sys.exit(main())
