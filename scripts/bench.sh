#!/usr/bin/env bash
# Run the benchmark suite (bench/run.ts): SQLite and a throwaway PostgreSQL cluster side by side, one table on
# stdout, results into docs/benchmarks.md. Takes about seven minutes; all traffic stays on 127.0.0.1.
# `npm run bench -- scale` runs the scale section instead (SQLite only; 8 to 12 minutes, see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# No installing here: a benchmark run talks to nothing but 127.0.0.1.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "node_modules is missing or older than package-lock.json; run: npm ci" >&2
  exit 1
fi

# Same search as findPostgresBin() in test/support/postgres.ts.
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "PostgreSQL (initdb, pg_ctl) not found; install it, e.g.: sudo apt-get install -y postgresql" >&2
  exit 1
fi

# bench/run.ts gives up by itself after 12 minutes (the scale section: 60); this is the backstop should it hang
# harder than that.
limit=14m
if [[ "$*" == scale ]]; then limit=65m; fi
exec timeout --kill-after=15s "$limit" node --import tsx bench/run.ts "$@"
