"""The web chat channel: widgets, customer sessions, the transcript and its live fan-out."""
