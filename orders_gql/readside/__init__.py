"""The read side: Beanie read models, the projector that keeps them up to date
from the event log, dead letters, read-your-writes and zero-downtime rebuilds."""
