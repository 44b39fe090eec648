"""`python -m edge_bench.cli`."""

import sys

from .entry import main

sys.exit(main())
