"""python -m tests.doubles.twilio --port N --callback-url URL [--reservation-timeout S]."""

from __future__ import annotations

import argparse

import uvicorn

from tests.doubles.twilio.app import create_app


def main() -> None:
    """Serve the TaskRouter double on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--callback-url", required=True)
    parser.add_argument("--reservation-timeout", type=float, default=60.0)
    args = parser.parse_args()
    app = create_app(args.callback_url, args.reservation_timeout)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
