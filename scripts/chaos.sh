#!/usr/bin/env bash
# The full resilience suite (`npm run chaos`, issue 8): provisions MariaDB + Redis like
# scripts/test.sh, builds dist/ (the worker child processes run it), then runs jest on
# tests/resilience only, with the integration project's global setup (the shared Temporal dev
# server and the workflow bundle), KNOT_CHAOS=full: 200 mixed operations per scenario on SQLite
# and MariaDB while the worker is SIGKILLed, Nomad fails, Temporal restarts, MariaDB restarts.
# Extra arguments go to jest (e.g. -t 'worker is SIGKILLed'). KNOT_CHAOS=short for a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || { echo "run 'npm install' first (see README)" >&2; exit 1; }
npm run --silent build
# start the services when they are not running; stop them on exit only if this script started them
started_services=0
pidfile="${KNOT_TEST_SERVICES_DIR:-.test-services}/mariadb/mysqld.pid"
if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then started_services=1; fi
eval "$(bash scripts/services.sh start)"
if [ "$started_services" = 1 ]; then trap 'bash scripts/services.sh stop' EXIT; fi
export KNOT_CHAOS="${KNOT_CHAOS:-full}"
# a single-project config: the integration project with its testMatch pointed at tests/resilience
CONFIG="$(node -e '
const c = require("./jest.config.js");
const p = c.projects.find((x) => x.displayName === "integration");
console.log(JSON.stringify({ ...p, rootDir: process.cwd(), displayName: "resilience",
  testMatch: ["<rootDir>/tests/resilience/**/*.test.ts"], testTimeout: 3600000 }));')"
npx jest --ci --runInBand --config "$CONFIG" "$@"
