"""The pure domain: commands, events, the Order aggregate. No I/O, no clock."""
