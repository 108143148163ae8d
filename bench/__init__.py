"""Benchmarks of airflow-provider-wfcancel against the local emulator; run ``python -m bench``."""
