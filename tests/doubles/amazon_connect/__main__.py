"""Run the double: `python -m tests.doubles.amazon_connect --port P --relay-url URL ...`."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from tests.doubles.amazon_connect.app import Config, build_app


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve on 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="python -m tests.doubles.amazon_connect")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--relay-url", required=True, help="Omniroute's inbound events URL")
    parser.add_argument("--secret", required=True, help="the spoke's relay secret")
    parser.add_argument("--access-key", required=True, help="the AWS access key id to accept")
    parser.add_argument("--page-size", type=int, default=2)
    args = parser.parse_args(argv)
    config = Config(args.relay_url, args.secret, args.access_key, args.page_size)
    uvicorn.run(build_app(config), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
