#!/usr/bin/env bash
# Autogenerate the next migration from the difference between the migrations and tables.py.
# Usage: scripts/new_migration.sh REV_ID "message"
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
rev_id=$1
message=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$BIN/python" - "$tmp/db.sqlite" "$rev_id" "$message" <<'PY'
import sys

from alembic import command

from omniroute.store.migrate import alembic_config, upgrade

url = f"sqlite+aiosqlite:///{sys.argv[1]}"
upgrade(url)
cfg = alembic_config(url)
cfg.set_main_option("timezone", "UTC")
command.revision(cfg, message=sys.argv[3], autogenerate=True, rev_id=sys.argv[2])
PY
"$BIN/ruff" check --fix --quiet omniroute/store/migrations/versions || true
"$BIN/ruff" format --quiet omniroute/store/migrations/versions
