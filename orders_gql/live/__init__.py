"""Live delivery of order events: one log reader per process fans events out
to every subscriber of that process, with bounded buffers and resumable feeds."""
