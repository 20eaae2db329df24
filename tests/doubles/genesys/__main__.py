"""Run the Genesys Cloud double: `python -m tests.doubles.genesys --port N --omniroute-url ...`."""

from __future__ import annotations

import argparse

import uvicorn

from tests.doubles.genesys.app import create_app
from tests.doubles.genesys.org import Omniroute


def main() -> None:
    """Parse the command line and serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--omniroute-url", required=True)
    parser.add_argument("--token", required=True, help="Omniroute integration token")
    parser.add_argument("--spoke", required=True, help="the Genesys spoke's name in Omniroute")
    parser.add_argument("--secret", required=True, help="the spoke's inbound_secret")
    args = parser.parse_args()
    omniroute = Omniroute(args.omniroute_url.rstrip("/"), args.token, args.spoke, args.secret)
    uvicorn.run(create_app(omniroute), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
