"""Run the simulator: `python -m omniroute.sim --token T --secret S --spoke NAME`."""

from __future__ import annotations

import argparse
import sys

from omniroute.sim.app import serve
from omniroute.sim.core import Config
from omniroute.sim.world import ScenarioError, build_world


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m omniroute.sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--omniroute-url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="Omniroute integration token")
    parser.add_argument("--secret", required=True, help="the webhook spoke's shared secret")
    parser.add_argument("--spoke", required=True, help="the spoke's name in Omniroute")
    parser.add_argument("--think-ms", type=int, default=None, help="delay before each offer")
    parser.add_argument("--scenario", default=None, help="JSON scenario file")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    try:
        world = build_world(args.scenario, args.think_ms)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 2
    config = Config(args.omniroute_url, args.token, args.secret, args.spoke)
    serve(config, world, args.host, args.port, args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
