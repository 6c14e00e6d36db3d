"""`python -m cohort.cli`: the same as the `cohort` command."""

import sys

from cohort.cli import main

sys.exit(main())
