#!/usr/bin/env bash
# The real-Nomad test tier (`npm run test:nomad`): runs the jest project `nomad` (tests/nomad/)
# against a Nomad agent it starts from KNOT_NOMAD_BIN with the CSI hostpath plugin from
# KNOT_CSI_HOSTPATH_BIN. Nothing here builds or downloads them; without both it says so and exits 0.
# Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x "${KNOT_NOMAD_BIN:-}" ] || [ ! -x "${KNOT_CSI_HOSTPATH_BIN:-}" ]; then
  echo "test:nomad skipped: set KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN to a Nomad v1.6.5 binary and the CSI hostpath plugin (how to build them: docs/real-nomad.md)"
  exit 0
fi
[ -d node_modules ] || { echo "run 'npm install' first (see README)" >&2; exit 1; }
npm run --silent build
npx jest --ci "$@" --selectProjects nomad
