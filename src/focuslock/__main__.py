"""``python -m focuslock`` runs the same command as the ``focuslock`` script."""

import sys

from focuslock.cli import main

sys.exit(main())
