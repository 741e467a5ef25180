#!/usr/bin/env bash
# Run the test suite, first making sure its prerequisites exist:
# dependencies matching package-lock.json, and a PostgreSQL server install
# (the tests start their own throwaway cluster from it; see test/support/postgres.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# npm writes node_modules/.package-lock.json on every install, so if it is missing
# or older than package-lock.json the installed tree is stale.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci
fi

# Same search as findPostgresBin(): Debian keeps initdb off PATH, under /usr/lib/postgresql/<major>/bin.
have_initdb() {
  command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

if ! have_initdb; then
  # Debian's package also starts its own cluster on 5432; harmless, the tests don't use it.
  install_pg='apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql'
  if [[ $(id -u) -eq 0 ]]; then
    bash -c "$install_pg"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n bash -c "$install_pg"
  else
    echo "PostgreSQL (initdb) not found and cannot install it without root; run: sudo sh -c '$install_pg'" >&2
    # In CI, skipped PostgreSQL suites must not pass silently; locally they are just skipped.
    if [[ -n ${CI:-} ]]; then exit 1; fi
  fi
fi

# The CLI tests run the built bin, as users do.
npm run --silent build

# Vitest's exit code becomes ours; a plain "N passed, N failed" line closes the run for tools that read it.
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);' "$report" || true
exit "$status"
