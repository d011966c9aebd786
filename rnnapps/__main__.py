"""``python -m rnnapps`` is the ``rnnapps`` command."""

from rnnapps.cli import main

raise SystemExit(main())
