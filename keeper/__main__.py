"""`python -m keeper ...` is `cohort-keeper ...`."""

from keeper.cli import main

raise SystemExit(main())
