#!/usr/bin/env bash
# The replica tier (`npm run test:replicas`): two `knot server` and two `knot worker` processes on
# MariaDB + Redis behind a TCP balancer, one API and one worker SIGKILLed mid-run (tests/replicas/).
# `npm test` runs it too, after unit + integration; this runs it alone. Provisions MariaDB, Redis
# and Temporal as `npm test` does. Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || { echo "run 'npm install' first (see README)" >&2; exit 1; }
# dist/ is what the child processes run
npm run --silent build
eval "$(bash scripts/services.sh start)"
trap 'bash scripts/services.sh stop' EXIT
npx jest --ci "$@" --selectProjects replicas
