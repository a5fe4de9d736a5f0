"""Normalise stage: raw entries to sanitised, timezone-aware `Article`s."""
