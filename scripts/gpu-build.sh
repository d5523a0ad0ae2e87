#!/usr/bin/env bash
# Builds rhotrain on a CUDA machine that has no network and no apt (README, "Training on a GPU"), against the LibTorch
# inside its pip PyTorch and the Debian 12 packages that scripts/gpu-deps.sh fetched into gpu-deps/:
#   1. unpacks gpu-deps/*.deb with `dpkg -x` into a prefix (default /tmp/rhotrain-deps; nothing is installed);
#   2. configures build-gpu/ (CMake + Ninja, Release, CUDA arch 9.0) with every package found in that prefix;
#   3. builds the targets given as arguments (default: rhotrain dataset_tests model_bench);
#   4. writes build-gpu/env.sh: `source build-gpu/env.sh` before running what it built (LD_LIBRARY_PATH).
# Logs: build-gpu/configure.log, build-gpu/build.log (their tail is printed on failure). Safe to rerun.
#
# Environment (all optional):
#   RHOTRAIN_DEPS_PREFIX  where the .debs are unpacked (default /tmp/rhotrain-deps; never /)
#   GPU_DEPS_DIR          the .debs (default gpu-deps)        GPU_BUILD_DIR   the build folder (default build-gpu)
#   PYTHON                the python with torch (default python3)
#   TORCH_CMAKE_PREFIX    LibTorch's CMake prefix, instead of asking python for torch.utils.cmake_prefix_path
#   TORCH_INCLUDE_DIR     LibTorch's include folder (default: found above TORCH_CMAKE_PREFIX)
#   NCCL_INCLUDE_DIR      folder of nccl.h (default: python's site-packages nvidia/nccl/include, if there)
#   CUDA_ARCH             default 9.0 (TORCH_CUDA_ARCH_LIST; CMAKE_CUDA_ARCHITECTURES without the dot)
#   JOBS                  ninja -j (default: ninja's own)
#   EXTRA_CMAKE_ARGS      more cmake arguments (word-split)   EXTRA_LDFLAGS  appended to the linker flags
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

say() { echo "gpu-build: $*" >&2; }
die() { echo "gpu-build: error: $*" >&2; exit 1; }

DEPS=${GPU_DEPS_DIR:-gpu-deps}
PREFIX=${RHOTRAIN_DEPS_PREFIX:-/tmp/rhotrain-deps}
BUILD=${GPU_BUILD_DIR:-build-gpu}
PYTHON=${PYTHON:-python3}
CUDA_ARCH=${CUDA_ARCH:-9.0}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(rhotrain dataset_tests model_bench)
MULTIARCH=x86_64-linux-gnu

for tool in cmake ninja dpkg-deb readelf; do
  command -v "$tool" >/dev/null || die "'$tool' not found on this machine"
done
case $PREFIX in /*) ;; *) PREFIX="$SRC/$PREFIX" ;; esac
PREFIX=$(realpath -m "$PREFIX")
case $PREFIX in
  /|/usr|/usr/local|/opt|/tmp|/var|/var/tmp|/home|/root|/etc|/bin|/lib|/lib64|/sbin|"$SRC")
    die "refusing to unpack into $PREFIX: give RHOTRAIN_DEPS_PREFIX a folder of its own" ;;
esac
case $BUILD in /*) ;; *) BUILD="$SRC/$BUILD" ;; esac
mkdir -p "$BUILD"
LIBDIR=$PREFIX/usr/lib/$MULTIARCH
# Debian 12 still puts some libraries in /lib (libexpat, libcom_err, libkeyutils): both folders hold the prefix's.
LIBDIRS="$LIBDIR:$PREFIX/lib/$MULTIARCH"

# ---- 1. unpack (again only when gpu-deps/ changed)
ls "$DEPS"/*.deb >/dev/null 2>&1 || die "no .debs in $DEPS/: run scripts/gpu-deps.sh on a Debian 12 machine and bring $DEPS/ along"
if [ -f "$DEPS/SHA256SUMS" ]; then
  (cd "$DEPS" && sha256sum --quiet -c SHA256SUMS) || die "$DEPS/ does not match its SHA256SUMS (incomplete copy?)"
fi
STAMP=$(cd "$DEPS" && ls -l --time-style=+%s -- *.deb | awk '{print $5, $6, $7}' | sha256sum | cut -c1-16)
if [ "$(cat "$PREFIX/.gpu-deps-stamp" 2>/dev/null)" != "$STAMP" ]; then
  say "unpacking $(ls "$DEPS"/*.deb | wc -l) packages from $DEPS/ into $PREFIX"
  if [ -e "$PREFIX" ]; then
    [ -f "$PREFIX/.gpu-deps-stamp" ] || [ -z "$(ls -A "$PREFIX")" ] ||
      die "$PREFIX exists and was not made by this script; remove it or set RHOTRAIN_DEPS_PREFIX"
    rm -rf "$PREFIX"
  fi
  mkdir -p "$PREFIX"
  for deb in "$DEPS"/*.deb; do dpkg-deb -x "$deb" "$PREFIX" || die "dpkg-deb -x $deb failed"; done
  echo "$STAMP" > "$PREFIX/.gpu-deps-stamp"
fi
# zlib1g (libz.so.1) is the machine's, not in gpu-deps/: point zlib1g-dev's dangling libz.so at it.
if [ -L "$LIBDIR/libz.so" ] && [ ! -e "$LIBDIR/libz.so" ]; then
  sysz=$(ls /usr/lib/$MULTIARCH/libz.so.1 /lib/$MULTIARCH/libz.so.1 /usr/lib64/libz.so.1 2>/dev/null | head -1 || true)
  [ -n "$sysz" ] || die "this machine has no libz.so.1"
  ln -sfn "$sysz" "$LIBDIR/libz.so"
fi
[ -x "$PREFIX/usr/bin/protoc" ] || die "$PREFIX/usr/bin/protoc missing: is protobuf-compiler in $DEPS/?"
HDF5_DIR_SERIAL=$LIBDIR/hdf5/serial
[ -e "$HDF5_DIR_SERIAL/include/hdf5.h" ] && [ -e "$HDF5_DIR_SERIAL/lib/libhdf5.so" ] ||
  die "no serial HDF5 under $HDF5_DIR_SERIAL (libhdf5-dev in $DEPS/?)"

# Run-time libraries: only the sonames this machine lacks (ldconfig's cache, LD_LIBRARY_PATH), as links in one folder,
# so that the machine's own newer copies (libssl, libcurl, libexpat, ... of Ubuntu 24.04) stay in use by everything
# else run after `source build-gpu/env.sh` (python's pyexpat, for one, needs a newer libexpat than Debian 12's).
RUNLIB=$PREFIX/runtime-lib
rm -rf "$RUNLIB"; mkdir -p "$RUNLIB"
ldconfig_cache=$({ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } | awk '/x86-64/ {print $1}' | sort -u)
# GPU_BUILD_SYSTEM_LIBDIRS: the machine's library folders besides ldconfig's cache (tests set it empty).
IFS=: read -ra llp_dirs <<< "${LD_LIBRARY_PATH:-}:${GPU_BUILD_SYSTEM_LIBDIRS-/lib/$MULTIARCH:/usr/lib/$MULTIARCH:/lib64:/usr/lib64}"
on_machine() {
  local d
  grep -qxF "$1" <<< "$ldconfig_cache" && return 0
  for d in "${llp_dirs[@]}"; do [ -n "$d" ] && [ -e "$d/$1" ] && return 0; done
  return 1
}
own=0; shared=0
declare -A IN_PREFIX=()
while IFS= read -r -d '' so; do
  name=$(readelf -d "$so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  name=${name:-$(basename "$so")}
  IN_PREFIX[$name]=1
  if on_machine "$name"; then shared=$((shared + 1)); else ln -sfn "$so" "$RUNLIB/$name"; own=$((own + 1)); fi
done < <(find "$LIBDIR" "$PREFIX/lib/$MULTIARCH" -maxdepth 1 -type f -name 'lib*.so.[0-9]*' -print0 2>/dev/null | sort -z)
# Every library the prefix's libraries and protoc need must be in the prefix or on this machine (gpu-deps.sh left
# out the base packages of Ubuntu 24.04: libc6, libstdc++6, zlib1g, libzstd1, ...).
missing=""
while IFS= read -r -d '' f; do
  for s in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${IN_PREFIX[$s]+x}" ] || on_machine "$s" || [ "$s" = ld-linux-x86-64.so.2 ] || missing+="  $s (needed by ${f#"$PREFIX"/})"$'\n'
  done
done < <(find "$LIBDIR" "$PREFIX/lib/$MULTIARCH" -maxdepth 1 -type f -name 'lib*.so.[0-9]*' -print0 2>/dev/null; printf '%s\0' "$PREFIX/usr/bin/protoc")
[ -z "$missing" ] || { printf '%s' "$missing" | sort -u >&2; die "the libraries above are neither in $DEPS/ nor on this machine: add their Debian package to ROOTS in scripts/gpu-deps.sh"; }
say "run-time libraries: $own from $DEPS/ (in $RUNLIB), $shared already on this machine"

# protoc with its libraries (libprotoc, libprotobuf), without putting them on the build's own LD_LIBRARY_PATH.
# (Rewritten only when it changes: the build regenerates tensorboard.pb.cc when protoc is newer.)
cat > "$BUILD/protoc.new" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$LIBDIRS\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$PREFIX/usr/bin/protoc" "\$@"
EOF
chmod +x "$BUILD/protoc.new"
if cmp -s "$BUILD/protoc.new" "$BUILD/protoc"; then rm -f "$BUILD/protoc.new"; else mv -f "$BUILD/protoc.new" "$BUILD/protoc"; fi
"$BUILD/protoc" --version >/dev/null 2>&1 || die "the prefix's protoc does not run: $("$BUILD/protoc" --version 2>&1 | head -3)"

# ---- 2. LibTorch, its headers (gloo), NCCL, CUDA
if [ -z "${TORCH_CMAKE_PREFIX:-}" ]; then
  command -v "$PYTHON" >/dev/null || die "no $PYTHON: set PYTHON, or TORCH_CMAKE_PREFIX to LibTorch's CMake prefix"
  TORCH_CMAKE_PREFIX=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) ||
    die "'$PYTHON -c \"import torch\"' failed: no PyTorch there (set PYTHON or TORCH_CMAKE_PREFIX)"
fi
[ -d "$TORCH_CMAKE_PREFIX" ] || die "TORCH_CMAKE_PREFIX=$TORCH_CMAKE_PREFIX is not a folder"
if [ -z "${TORCH_INCLUDE_DIR:-}" ]; then
  d=$TORCH_CMAKE_PREFIX
  for _ in 1 2 3 4 5; do
    d=$(dirname "$d")
    [ -f "$d/include/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp" ] && { TORCH_INCLUDE_DIR=$d/include; break; }
  done
fi
[ -n "${TORCH_INCLUDE_DIR:-}" ] || die "no include/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp above $TORCH_CMAKE_PREFIX (set TORCH_INCLUDE_DIR)"
# c10d's ProcessGroupGloo.hpp includes <gloo/...>: the headers LibTorch was built with, where it ships them, else
# Debian 12's libgloo-dev from gpu-deps/ (an older gloo than LibTorch's own: it compiles, but a Gloo process group
# then relies on the two agreeing in layout; single-process runs create none).
if [ -f "$TORCH_INCLUDE_DIR/gloo/algorithm.h" ]; then
  rm -rf "$PREFIX/usr/include/gloo"
  GLOO_FROM="LibTorch ($TORCH_INCLUDE_DIR/gloo)"
elif [ -f "$PREFIX/usr/include/gloo/algorithm.h" ]; then
  GLOO_FROM="$DEPS/ (Debian 12 libgloo-dev, $PREFIX/usr/include/gloo)"
else
  die "no gloo headers: neither in $TORCH_INCLUDE_DIR/gloo nor in $PREFIX/usr/include/gloo (rerun gpu-build.sh after removing $PREFIX)"
fi
if [ -z "${NCCL_INCLUDE_DIR:-}" ] && command -v "$PYTHON" >/dev/null; then
  NCCL_INCLUDE_DIR=$("$PYTHON" - <<'EOF' 2>/dev/null || true
import os, site, sys
roots = []
try:
    import nvidia.nccl as m
    roots += list(m.__path__)
except Exception:
    pass
dirs = list(site.getsitepackages()) + [site.getusersitepackages()] + sys.path
roots += [os.path.join(d, "nvidia", "nccl") for d in dirs if d]
for r in roots:
    if os.path.isfile(os.path.join(r, "include", "nccl.h")):
        print(os.path.join(r, "include"))
        break
EOF
)
fi
NVCC=$(command -v nvcc || true)
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
[ -n "$NVCC" ] && export PATH="$(dirname "$NVCC"):$PATH"
export TORCH_CUDA_ARCH_LIST=$CUDA_ARCH

# ---- configure
LDFLAGS_ALL="-Wl,-rpath-link,$LIBDIRS${EXTRA_LDFLAGS:+ $EXTRA_LDFLAGS}"
ARGS=(
  -S "$SRC" -B "$BUILD" -G Ninja "-DCMAKE_MAKE_PROGRAM=$(command -v ninja)"
  -DCMAKE_BUILD_TYPE=Release
  "-DCMAKE_PREFIX_PATH=$TORCH_CMAKE_PREFIX;$PREFIX/usr"
  # Debian's serial HDF5 by its folder of include/ and lib/ links; no h5cc (its paths are the absolute /usr ones).
  "-DHDF5_ROOT=$HDF5_DIR_SERIAL" -DHDF5_NO_FIND_PACKAGE_CONFIG_FILE=ON
  "-DProtobuf_PROTOC_EXECUTABLE=$BUILD/protoc"
  # libhdf5's own NEEDED libraries (libcurl, libsz, ...) live in the prefix: the linker must find them there.
  "-DCMAKE_EXE_LINKER_FLAGS=$LDFLAGS_ALL" "-DCMAKE_SHARED_LINKER_FLAGS=$LDFLAGS_ALL"
  # gtest_discover_tests lists the tests when ctest runs, not after each link (the build runs no program of ours).
  -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST
  "-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH//./}"
)
[ -n "$NVCC" ] && ARGS+=("-DCMAKE_CUDA_COMPILER=$NVCC")
[ -n "${NCCL_INCLUDE_DIR:-}" ] && ARGS+=("-DNCCL_INCLUDE_DIR=$NCCL_INCLUDE_DIR")
# shellcheck disable=SC2206
[ -n "${EXTRA_CMAKE_ARGS:-}" ] && ARGS+=($EXTRA_CMAKE_ARGS)

say "LibTorch: $TORCH_CMAKE_PREFIX; gloo headers: $GLOO_FROM; NCCL header: ${NCCL_INCLUDE_DIR:-none found}; nvcc: ${NVCC:-none}"
say "configuring $BUILD (log $BUILD/configure.log)"
if ! cmake "${ARGS[@]}" > "$BUILD/configure.log" 2>&1; then
  tail -40 "$BUILD/configure.log" >&2
  die "configure failed (full log: $BUILD/configure.log)"
fi
grep -E '^-- rhotrain:' "$BUILD/configure.log" >&2 || true
# A LibTorch that exports protobuf's symbols would clash with Debian's libprotobuf that trainer/ links.
torch_lib=$(sed -n 's/^TORCH_LIBRARY:FILEPATH=//p' "$BUILD/CMakeCache.txt")
torch_cpu=$(ls "$(dirname "${torch_lib:-/nonexistent/x}")"/libtorch_cpu.so* 2>/dev/null | head -1 || true)
if [ -n "$torch_cpu" ] && command -v nm >/dev/null; then
  n=$(nm -D --defined-only "$torch_cpu" 2>/dev/null | grep -c '_ZN6google8protobuf' || true)
  [ "${n:-0}" -eq 0 ] || say "warning: $torch_cpu exports $n protobuf symbols; Debian's libprotobuf.so.32 may clash with them at run time"
fi
# Every package must come from the prefix (or LibTorch / CUDA): list what the cache found anywhere else.
strays=$(grep -E '^(HDF5|Protobuf|ZLIB|CAIRO|TCMALLOC|GTest|benchmark|yaml-cpp|cxxopts|nlohmann_json|Eigen3)[A-Za-z0-9_]*:(FILEPATH|PATH)=/' \
           "$BUILD/CMakeCache.txt" | grep -v -E "=($PREFIX|$BUILD)/" | grep -v -- '-NOTFOUND$' || true)
if [ -n "$strays" ]; then
  say "warning: found outside $PREFIX:"; echo "$strays" | sed 's/^/  /' >&2
fi

# ---- env.sh: what the built programs need at run time
cat > "$BUILD/env.sh" <<EOF
# Written by scripts/gpu-build.sh: \`source $BUILD/env.sh\` before running the programs of $BUILD/.
# $RUNLIB holds links to the libraries from $DEPS/ that this machine lacks; the whole set is in
# $LIBDIRS should a program need every one of them.
case ":\${LD_LIBRARY_PATH:-}:" in
  *":$RUNLIB:"*) ;;
  *) export LD_LIBRARY_PATH="\${LD_LIBRARY_PATH:+\$LD_LIBRARY_PATH:}$RUNLIB" ;;
esac
export RHOTRAIN_DEPS_PREFIX="$PREFIX"
EOF
say "wrote $BUILD/env.sh: LD_LIBRARY_PATH+=$RUNLIB"

# ---- 3. build
say "building ${TARGETS[*]} (log $BUILD/build.log)"
if ! ninja -C "$BUILD" ${JOBS:+-j "$JOBS"} "${TARGETS[@]}" > "$BUILD/build.log" 2>&1; then
  grep -E 'error|Error|FAILED' "$BUILD/build.log" | head -20 >&2 || true
  echo "..." >&2
  tail -40 "$BUILD/build.log" >&2
  die "build failed (full log: $BUILD/build.log)"
fi
say "built: ${TARGETS[*]} in $BUILD; run them after: source $BUILD/env.sh"
