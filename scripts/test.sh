#!/usr/bin/env bash
# Run the test suite, first making sure its prerequisites exist:
# dependencies matching package-lock.json, a PostgreSQL server install
# (the tests start their own throwaway cluster from it; see test/support/postgres.ts),
# and Debian's chromium (the browser tests drive it with playwright-core; see test/support/browser.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# npm writes node_modules/.package-lock.json on every install, so if it is missing
# or older than package-lock.json the installed tree is stale.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci
fi

# Installs a Debian package as root (directly or through passwordless sudo); without root, says how. In CI the
# suites needing it must not pass by being skipped, so that fails the run; locally they are just skipped.
apt_install() {
  local what=$1 package=$2
  local install="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $package"
  if [[ $(id -u) -eq 0 ]]; then
    bash -c "$install"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n bash -c "$install"
  else
    echo "$what not found and cannot install it without root; run: sudo sh -c '$install'" >&2
    if [[ -n ${CI:-} ]]; then exit 1; fi
  fi
}

# Same search as findPostgresBin(): Debian keeps initdb off PATH, under /usr/lib/postgresql/<major>/bin.
have_initdb() {
  command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

# Same search as findChromium(): CHROMIUM_PATH, else chromium or chromium-browser.
have_chromium() {
  [[ -n ${CHROMIUM_PATH:-} && -x ${CHROMIUM_PATH} ]] || command -v chromium >/dev/null 2>&1 ||
    command -v chromium-browser >/dev/null 2>&1
}

# Debian's postgresql package also starts its own cluster on 5432; harmless, the tests don't use it.
if ! have_initdb; then apt_install 'PostgreSQL (initdb)' postgresql; fi
if ! have_chromium; then apt_install 'chromium' chromium; fi

# The CLI tests run the built bin, as users do; the browser tests load the built dashboard.
npm run --silent build

# Vitest's exit code becomes ours; a plain "N passed, N failed" line closes the run for tools that read it.
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);' "$report" || true
exit "$status"
