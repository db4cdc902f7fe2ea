"""``python -m symtrace``: the same as the ``symtrace`` command."""

from .cli import main

raise SystemExit(main())
