"""The event store: events as JSON in Redis streams."""
