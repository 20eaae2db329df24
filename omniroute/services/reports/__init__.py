"""Interval statistics: 15-minute and daily figures per queue and per agent, from stored rows."""
