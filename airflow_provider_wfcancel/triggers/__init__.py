"""Deferrable waiting: one trigger per service, all built on :class:`._base.InstanceStatusTrigger`."""
