"""Updating sources: the pure decisions (`decide`) apart from the run that does the I/O (`run`)."""
