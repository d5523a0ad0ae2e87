#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer: builds everything with
# -DRHOTRAIN_SANITIZE=ON into build-asan/ and runs ctest there. LibTorch, HDF5 and protobuf are not instrumented;
# what they leak at exit is suppressed by tests/sanitizers/lsan.supp, each line explained there.
#   bash scripts/sanitize.sh [ctest arguments, e.g. -R Predict]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRHOTRAIN_SANITIZE=ON >/dev/null
cmake --build build-asan -j2 -- --no-print-directory | grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^Consolidate|^Scanning' || true
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_odr_violation=0:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/sanitizers/ubsan.supp"
cd build-asan
ctest -j2 --output-on-failure "$@"
