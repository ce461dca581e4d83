"""`python -m vlmteach` runs the command-line interface."""

from vlmteach.cli.main import main

raise SystemExit(main())
