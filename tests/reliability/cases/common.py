"""What every table of the reliability matrix shares: the services."""

from __future__ import annotations

from typing import Literal

Service = Literal["domo", "enos"]
SERVICES: tuple[Service, ...] = ("domo", "enos")
