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
    # Plain queues, then every queue on a calendar with three escalation steps, side by side.
    results.update(await engine_bench.run(workdir, hours_and_steps=False))
    results.update(await engine_bench.run(workdir, hours_and_steps=True))
    results.update(await http_bench.run(workdir))
    internal_p99 = results.get("offer_latency_ms_p99")
    results.update(await external_bench.run(workdir, internal_p99))
    try:
        results.update(await cluster_bench.run(workdir))
    except RuntimeError as err:
        results["cluster_error"] = str(err)
    results.update(await report_bench.run(workdir))
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
