"""Run every benchmark; print a table, then one JSON object as the last line."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from bench import (
    cluster_bench,
    engine_bench,
    external_bench,
    http_bench,
    report_bench,
    search_bench,
)


async def run(workdir: Path) -> dict[str, Any]:
    """Run the benchmarks in order and collect their figures."""
    results: dict[str, Any] = {}
    eng = await engine_bench.offers_per_second(workdir)
    results["engine_offers_per_s"] = round(eng.offers_per_s, 1)
    results["engine_offers"] = eng.offers
    results["engine_load_s"] = round(eng.load_seconds, 2)
    small = await engine_bench.decision_seconds(workdir, 1_000)
    large = await engine_bench.decision_seconds(workdir, engine_bench.ITEMS)
    results["engine_decision_us_1k"] = round(small * 1e6, 1)
    results["engine_decision_us_100k"] = round(large * 1e6, 1)
    results["engine_cost_growth"] = round(large / small, 3)
    results.update(await http_bench.run(workdir))
    internal_p99 = results.get("offer_latency_ms_p99")
    results.update(await external_bench.run(workdir, internal_p99))
    try:
        results.update(await cluster_bench.run(workdir))
    except RuntimeError as err:
        results["cluster_error"] = str(err)
    results.update(await report_bench.run())
    results.update(await search_bench.run(workdir))
    return results


def main() -> None:
    """Entry point of `python -m bench`."""
    with tempfile.TemporaryDirectory(prefix="omniroute-bench-") as tmp:
        results = asyncio.run(run(Path(tmp)))
    width = max(len(k) for k in results)
    print(f"{'metric'.ljust(width)}  value")
    for key, value in results.items():
        print(f"{key.ljust(width)}  {value}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
