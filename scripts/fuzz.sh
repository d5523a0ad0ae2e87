#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of a user's files (fuzz/parsers.h): builds the libFuzzer targets with clang,
# ASan and UBSan into build-fuzz/ and runs each for SECONDS (default 60), seeded from fuzz/seeds/, the kept crashers
# of fuzz/regressions/, data/fixtures/ and configs/. A finding (crash, uncaught exception that is not rhotrain::Error,
# hang over 10 s, allocation over 512 MB) stops the script with its input in build-fuzz/findings/<target>/; copy it to
# fuzz/regressions/<target>/ once fixed, where tests/fuzz_regression_test.cpp keeps checking it.
#   bash scripts/fuzz.sh [SECONDS [TARGET...]]   (targets: chgcar cube poscar config events state; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
targets=(chgcar cube poscar config events state)
[ $# -gt 1 ] && targets=("${@:2}")
bash scripts/install-deps.sh
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null; }
done
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DRHOTRAIN_FUZZ=ON -DRHOTRAIN_TESTS=OFF >/dev/null
cmake --build build-fuzz -j2 --target "${targets[@]/#/fuzz_}" -- --no-print-directory | { grep -vE '^\[ *[0-9]+%\]' || true; }

for t in "${targets[@]}"; do
  corpus="build-fuzz/corpus/$t" findings="build-fuzz/findings/$t"
  mkdir -p "$corpus" "$findings"
  seeds=(fuzz/seeds/"$t" fuzz/regressions/"$t")
  case "$t" in
    chgcar | cube | poscar) seeds+=(data/fixtures) ;;
    config) seeds+=(configs) ;;
  esac
  existing=()
  for s in "${seeds[@]}"; do [ -d "$s" ] && existing+=("$s"); done
  echo "fuzz $t for ${seconds} s"
  if ! "build-fuzz/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=512 -rss_limit_mb=2048 \
       -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" "${existing[@]}" > "build-fuzz/$t.log" 2>&1; then
    tail -n 40 "build-fuzz/$t.log"
    echo "fuzz: $t: a finding, input in $findings/" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "build-fuzz/$t.log" | tr '\n' ' '
  echo
done
echo "fuzz: no findings in ${#targets[@]} targets x ${seconds} s"
