"""Run the aep-jobs command as ``python -m aep_jobs``."""

import sys

from .cli import main

sys.exit(main())
