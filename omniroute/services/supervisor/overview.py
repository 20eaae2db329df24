"""The supervisor overview: live state from the engine joined with the last hour's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from omniroute.core.live import AgentCounts, LiveQueue
from omniroute.core.messages import LiveOverview
from omniroute.engine.engine import Engine
from omniroute.services.supervisor import metrics
from omniroute.services.supervisor.history import History, load_history, load_thresholds
from omniroute.services.supervisor.metrics import Answering, ItemRecord, OfferRecord, Window
from omniroute.store.db import Database

DEFAULT_THRESHOLD_S = 20


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures shown for one queue and for all queues together."""

    depth: int
    oldest_queued_at: datetime | None
    longest_wait_s: float
    offered: int
    in_progress: int
    items_created: int
    answered: int
    answered_within: int
    abandoned: int
    service_level: float | None
    offers_accepted: int
    offers_rejected: int
    offers_timed_out: int


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """One queue's figures with its identity and service-level threshold."""

    queue_id: str
    name: str
    routing_mode: str
    threshold_s: int
    figures: Figures


@dataclass(frozen=True, slots=True)
class Minute:
    """One minute of the last hour, for all queues together."""

    start: datetime
    offers_accepted: int
    offers_rejected: int
    offers_timed_out: int
    items_created: int
    queue_depth: int


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the supervisor view shows, as of `generated_at` (UTC)."""

    generated_at: datetime
    window_start: datetime
    queues: list[QueueFigures]
    totals: Figures
    agents: AgentCounts
    minutes: list[Minute]


def _figures(
    live: list[LiveQueue],
    items: list[ItemRecord],
    offers: list[OfferRecord],
    answers: Answering,
    window: Window,
) -> Figures:
    oldest = min((q.oldest_queued_at for q in live if q.oldest_queued_at), default=None)
    outcomes = metrics.offer_outcomes(offers, window)
    return Figures(
        depth=sum(q.depth for q in live),
        oldest_queued_at=oldest,
        longest_wait_s=0.0 if oldest is None else max(0.0, (window.now - oldest).total_seconds()),
        offered=sum(q.offered for q in live),
        in_progress=sum(q.in_progress for q in live),
        items_created=sum(1 for i in items if window.contains(i.created_at)),
        answered=answers.answered,
        answered_within=answers.answered_within,
        abandoned=answers.abandoned,
        service_level=answers.service_level,
        offers_accepted=outcomes["accepted"],
        offers_rejected=outcomes["rejected"],
        offers_timed_out=outcomes["timed_out"],
    )


def compose(
    live_queues: list[LiveQueue],
    agents: AgentCounts,
    history: History,
    thresholds: dict[str, int],
    window: Window,
) -> Overview:
    """Join the live view and the history into the overview."""
    items_of: dict[str, list[ItemRecord]] = {q.queue_id: [] for q in live_queues}
    offers_of: dict[str, list[OfferRecord]] = {q.queue_id: [] for q in live_queues}
    for item in history.items:
        items_of.get(item.queue_id, []).append(item)
    for offer in history.offers:
        offers_of.get(offer.queue_id, []).append(offer)
    rows: list[QueueFigures] = []
    all_answers = Answering(0, 0, 0)
    for q in live_queues:
        items, offers = items_of[q.queue_id], offers_of[q.queue_id]
        threshold = thresholds.get(q.queue_id, DEFAULT_THRESHOLD_S)
        answers = metrics.answering(items, window, threshold)
        all_answers = Answering(
            all_answers.answered + answers.answered,
            all_answers.answered_within + answers.answered_within,
            all_answers.abandoned + answers.abandoned,
        )
        figures = _figures([q], items, offers, answers, window)
        rows.append(QueueFigures(q.queue_id, q.name, q.routing_mode, threshold, figures))
    items = [i for group in items_of.values() for i in group]
    offers = [o for group in offers_of.values() for o in group]
    totals = _figures(live_queues, items, offers, all_answers, window)
    return Overview(window.now, window.start, rows, totals, agents, _minutes(items, offers, window))


def _minutes(items: list[ItemRecord], offers: list[OfferRecord], window: Window) -> list[Minute]:
    outcomes = metrics.per_minute_outcomes(offers, window)
    created = metrics.per_minute_created(items, window)
    depths = metrics.depth_samples(items, offers, window.sample_times())
    return [
        Minute(
            start=start,
            offers_accepted=outcomes[i]["accepted"],
            offers_rejected=outcomes[i]["rejected"],
            offers_timed_out=outcomes[i]["timed_out"],
            items_created=created[i],
            queue_depth=depths[i],
        )
        for i, start in enumerate(window.minute_starts())
    ]


async def build_overview(engine: Engine, db: Database) -> Overview:
    """The overview as of the engine's last commit."""
    window = Window.ending(engine.clock.now())
    # History first, then the live view: the live view then knows at least every item the
    # history counts, so a frame never shows more items created than the queues account for.
    async with db.session() as session:
        history = await load_history(session, window)
        thresholds = await load_thresholds(session)
    live = await engine.query(LiveOverview())
    return compose(live.queues, live.agents, history, thresholds, window)
