#!/usr/bin/env bash
# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer: builds with -DRHOTRAIN_SANITIZE=ON into
# build-asan/ and runs ctest there. LibTorch, HDF5, protobuf and fontconfig are not instrumented; what they keep
# until exit is suppressed by tests/sanitizers/lsan.supp, each line explained there.
#   bash scripts/sanitize.sh [ctest arguments, e.g. -R Predict]   the whole suite (about 30 min on 2 cores)
#   bash scripts/sanitize.sh --torch-free                        the suites without LibTorch (about 6 min; CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(all) select=()
if [ "${1:-}" = "--torch-free" ]; then
  shift
  targets=(torch_free_tests) select=(-L torch_free)
fi
bash scripts/install-deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRHOTRAIN_SANITIZE=ON >/dev/null
cmake --build build-asan -j2 --target "${targets[@]}" -- --no-print-directory |
  { grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^Consolidate|^Scanning' || true; }
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_odr_violation=0:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/sanitizers/ubsan.supp"
cd build-asan
ctest -j2 --output-on-failure "${select[@]}" "$@"
