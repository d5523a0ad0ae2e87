#!/usr/bin/env bash
# The whole test suite: install dependencies, build everything, run every GoogleTest suite through ctest.
# Under CI (CI=true) the suite runs with ../shared — the workspace folder beside the repository, when there is
# one — hidden behind an empty read-only mount, which proves the repository stands alone; then the suites without
# LibTorch run again under AddressSanitizer and UndefinedBehaviorSanitizer (scripts/sanitize.sh --torch-free).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
suite=(ctest --output-on-failure -j2)
if [ "${CI:-}" = "true" ] && [ -d ../shared ]; then
  if unshare --mount true 2>/dev/null; then
    echo "test: ../shared is hidden from this run: the repository must stand alone"
    suite=(unshare --mount sh -c 'mount -t tmpfs -o ro,size=4k tmpfs ../../shared && ctest --output-on-failure -j2')
  else
    echo "test: WARNING: cannot hide ../shared here (unshare needs root); the suite runs with it in reach" >&2
  fi
fi
(cd build && "${suite[@]}")
if [ "${CI:-}" = "true" ]; then
  echo "test: the suites without LibTorch under AddressSanitizer and UndefinedBehaviorSanitizer"
  bash scripts/sanitize.sh --torch-free
fi
