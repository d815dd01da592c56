"""``python -m lib.bench``: see :func:`lib.bench.main`."""

import sys

from lib.bench import main

sys.exit(main())
