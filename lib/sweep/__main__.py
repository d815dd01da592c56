"""``python -m lib.sweep``: the sweep's command line (see :func:`lib.sweep.main`)."""

import sys

from lib.sweep import main

sys.exit(main())
