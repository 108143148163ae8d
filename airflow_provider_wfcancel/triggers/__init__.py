"""Triggers: deferrable waiting, one per service built on :class:`._base.InstanceStatusTrigger`; and the
event triggers of ``AssetWatcher``, one per service built on :class:`._events.FinishedInstanceEventTrigger`."""
