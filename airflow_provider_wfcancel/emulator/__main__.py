"""``python -m airflow_provider_wfcancel.emulator`` / ``wfcancel-emulator``."""

from __future__ import annotations

from .server import main

if __name__ == "__main__":
    raise SystemExit(main())
