"""Transitional alias: the engine state and Tx now live in `omniroute.core.state`."""

from omniroute.core.state import EngineState, FeedEvent, OutboxEvent, SpokeConfig, Tx

__all__ = ["EngineState", "FeedEvent", "OutboxEvent", "SpokeConfig", "Tx"]
