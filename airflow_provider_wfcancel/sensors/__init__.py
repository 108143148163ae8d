"""Sensors that wait for a remote instance to end, in poke, reschedule or deferrable mode."""
