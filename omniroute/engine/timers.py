"""Transitional alias: timers now live in `omniroute.core.timers`."""

from omniroute.core.timers import TimerHeap, TimerKind

__all__ = ["TimerHeap", "TimerKind"]
