"""``python -m symtrace``: the same as the ``symtrace`` command (its launcher's
:func:`~symtrace_launcher.main`; the package, and SymPy, are already imported here)."""

from symtrace_launcher import main

raise SystemExit(main())
