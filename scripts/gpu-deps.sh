#!/usr/bin/env bash
# Fetches, here on Debian 12 (network to Debian's mirror only), the .debs that scripts/gpu-build.sh unpacks on a CUDA
# machine that has no network and no apt (README, "Training on a GPU"): `apt-get download` into gpu-deps/ (git-ignored),
# never an install. What goes in:
#   1. ROOTS: the -dev packages rhotrain compiles against (headers, lib*.so links, CMake configs) and their libraries;
#   2. their Depends/Pre-Depends closure (apt-cache), less SKIP: base packages every Ubuntu 24.04 has, tools,
#      compilers, python, and parts we never link;
#   3. of that closure only the packages whose shared libraries are NEEDED (readelf -d) by what is kept, starting from
#      ROOTS: data-only packages (fontconfig-config, fonts, libx11-data, ...) and unused plugins drop out.
# Every NEEDED soname must then be found in gpu-deps/ or among the base packages' sonames, else it stops.
# Idempotent: .debs already there (or in the download cache) are not fetched again; stale ones are removed.
# Env: GPU_DEPS_DIR (default gpu-deps), GPU_DEPS_CACHE (default /var/tmp/rhotrain-gpu-deps-cache).
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=${GPU_DEPS_DIR:-gpu-deps}
CACHE=${GPU_DEPS_CACHE:-/var/tmp/rhotrain-gpu-deps-cache}
SOFT_LIMIT_MB=30
HARD_LIMIT_MB=40

say() { echo "gpu-deps: $*" >&2; }
die() { echo "gpu-deps: error: $*" >&2; exit 1; }

# What rhotrain's CMakeLists.txt files find (see each line), and the libraries behind the -dev packages' lib*.so links.
ROOTS=(
  libhdf5-dev libhdf5-103-1 libhdf5-cpp-103-1  # find_package(HDF5 COMPONENTS C CXX): serial hdf5 + hdf5_cpp
  libeigen3-dev                                # find_package(Eigen3 NO_MODULE), header only
  nlohmann-json3-dev                           # find_package(nlohmann_json), header only
  libcxxopts-dev                               # find_package(cxxopts), header only
  libyaml-cpp-dev libyaml-cpp0.7               # find_package(yaml-cpp)
  protobuf-compiler libprotobuf-dev libprotobuf32  # find_package(Protobuf) + protobuf_generate_cpp (protoc)
  zlib1g-dev                                   # find_package(ZLIB); libz.so.1 itself is the machine's (base)
  libgtest-dev                                 # find_package(GTest): static libgtest.a, libgtest_main.a
  libbenchmark-dev libbenchmark1debian         # find_package(benchmark)
  libgoogle-perftools-dev libtcmalloc-minimal4 # find_library(tcmalloc_minimal) (cli/, bench/)
  libcairo2-dev libcairo2                      # pictures/: cairo.h + libcairo
  libgloo-dev                                  # <gloo/...> headers for c10d's ProcessGroupGloo.hpp, used only where the
                                               # PyTorch wheel ships none (gpu-build.sh checks torch/include/gloo)
)

# Never downloaded, with the reason. Base: in every Ubuntu 24.04 (Essential or Priority required there, and what
# apt/dpkg/coreutils/PAM themselves link), with the same sonames as Debian 12's (Ubuntu's *t64 renames kept them).
declare -A SKIP=(
  [libc6]="base: glibc (target has 2.39)"
  [libc-bin]="base: glibc tools"
  [libgcc-s1]="base: GCC runtime"
  [libstdc++6]="base: C++ runtime (target's g++ 13 one is newer)"
  [zlib1g]="base: libz.so.1"
  [libzstd1]="base: libzstd.so.1 (dpkg)"
  [liblzma5]="base: liblzma.so.5 (dpkg)"
  [libbz2-1.0]="base: libbz2.so.1.0 (dpkg)"
  [libcrypt1]="base: libcrypt.so.1 (PAM, login)"
  [libselinux1]="base: libselinux.so.1 (coreutils)"
  [libpcre2-8-0]="base: libpcre2-8.so.0 (grep, libselinux)"
  [libacl1]="base: coreutils"
  [libattr1]="base: coreutils"
  [libaudit1]="base: PAM"
  [libaudit-common]="base: PAM"
  [libcap-ng0]="base: PAM"
  [libcap2]="base: libcap.so.2 (systemd libs, PAM)"
  [libgmp10]="base: libgmp.so.10 (coreutils)"
  [libmd0]="base: libmd.so.0 (dpkg Pre-Depends)"
  [libtinfo6]="base: ncurses (bash)"
  [libsystemd0]="base: apt, util-linux"
  [libudev1]="base: util-linux"
  [liblz4-1]="base: libsystemd0"
  [libgcrypt20]="base: libsystemd0"
  [libgpg-error0]="base: libgcrypt20"
  [libseccomp2]="base: apt"
  [libpam0g]="base: login, passwd"
  [libdb5.3]="base: libdb-5.3.so (libpam-modules)"
  [debconf]="base: package configuration, not a library"
  [dpkg]="base tool"
  [perl-base]="base tool"
  [tar]="base tool"
  [coreutils]="base tool"
  [debianutils]="base tool"
  [sensible-utils]="base tool"
  [base-files]="base"
  [lsb-base]="base"
  [init-system-helpers]="base"
  [install-info]="base tool"
  [pkg-config]="tool: pictures/ finds cairo without it; Eigen3 is found by its CMake config"
  [pkgconf]="tool: see pkg-config"
  [googletest]="GoogleTest sources (/usr/src); libgtest-dev ships the built static libraries"
  [hdf5-helpers]="h5cc wrapper: its absolute /usr paths would steer FindHDF5 off the prefix (gpu-build.sh sets HDF5_ROOT)"
  [libhdf5-fortran-102]="HDF5 component not used (only C and CXX)"
  [libhdf5-hl-100]="HDF5 high-level API not used"
  [libhdf5-hl-cpp-100]="HDF5 high-level API not used"
  [libhdf5-hl-fortran-100]="HDF5 component not used"
  [libgoogle-perftools4]="full tcmalloc + profiler: only tcmalloc_minimal is linked"
  [libunwind8]="needed by libgoogle-perftools4 only"
  [libgloo0]="gloo's own library: c10d's Gloo symbols are in libtorch_cpu; only the headers are needed"
  [libcairo-gobject2]="cairo add-on not linked"
  [libcairo-script-interpreter2]="cairo add-on not linked"
  [libprotobuf-lite32]="lite runtime: nothing links libprotobuf-lite"
)
# Whole families skipped, checked in this order (first match wins; ROOTS are never skipped).
skip_reason() {
  local p=$1
  [ -n "${SKIP[$p]+x}" ] && { echo "${SKIP[$p]}"; return; }
  case $p in
    gcc-*-base)                         echo "base: GCC runtime" ;;
    gcc|gcc-[0-9]*|g++*|cpp|cpp-[0-9]*|gfortran*|libgfortran*|libgcc-[0-9]*-dev|libstdc++-*-dev) echo "compiler" ;;
    python3*|libpython3*)               echo "python" ;;
    *openmpi*|*mpich*|mpi-default-*|libhwloc*|libfabric*|libpmix*|libucx*) echo "MPI: rhotrain uses serial HDF5" ;;
    *-dev)                              echo "-dev package whose headers rhotrain does not include" ;;
    *)                                  return 1 ;;
  esac
}
# lib*.so links in the kept -dev packages that the build really links: each must resolve inside gpu-deps/ (or to a
# base library, for libz.so: gpu-build.sh points that one at the machine's libz.so.1).
LINKED=(libhdf5.so libhdf5_cpp.so libprotobuf.so libyaml-cpp.so libbenchmark.so libtcmalloc_minimal.so
        libcairo.so libz.so)

is_root() { local r; for r in "${ROOTS[@]}"; do [ "$r" = "$1" ] && return 0; done; return 1; }

# ---- checks
for tool in apt-get apt-cache dpkg-deb dpkg readelf; do
  command -v "$tool" >/dev/null || die "'$tool' not found (this script runs on Debian 12 with apt)"
done
[ "$(dpkg --print-architecture)" = amd64 ] || die "the GPU machine is x86-64; this machine is $(dpkg --print-architecture)"
. /etc/os-release 2>/dev/null || true
[ "${VERSION_CODENAME:-}" = bookworm ] || say "warning: this is ${PRETTY_NAME:-an unknown OS}, not Debian 12 (bookworm): package names may differ"
APT_OPTS=()
[ "$(id -u)" -eq 0 ] && APT_OPTS+=(-o APT::Sandbox::User=root)   # root: no _apt sandbox warning on the cache dir

# ROOTS without an installable version (apt-cache is slow per call here: one call for all of them).
missing_candidates() {
  apt-cache policy "${ROOTS[@]}" 2>/dev/null |
    awk '/^[^ ]/ {p = $1; sub(":$", "", p)} /Candidate:/ && $2 != "(none)" {ok[p] = 1} END {for (q in ok) print q}' |
    sort > "${TMPDIR:-/tmp}/gpu-deps-ok.$$"
  printf '%s\n' "${ROOTS[@]}" | sort | comm -23 - "${TMPDIR:-/tmp}/gpu-deps-ok.$$"
  rm -f "${TMPDIR:-/tmp}/gpu-deps-ok.$$"
}
if [ -n "$(missing_candidates)" ]; then
  say "no candidate for: $(missing_candidates | tr '\n' ' ')— running apt-get update"
  apt-get update -qq || die "apt-get update failed (network to Debian's mirror?)"
  [ -z "$(missing_candidates)" ] || die "still no candidate for: $(missing_candidates | tr '\n' ' ')(not Debian 12?)"
fi

# ---- 1+2: the Depends/Pre-Depends closure of ROOTS, less SKIP. OR groups take their first alternative; a virtual
# package its first provider.
deps_of() {  # PKG...: "PKG DEP" lines
  apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "$@" |
    awk '/^[^ ]/                    { pkg = $1; prev_or = 0; want = 0; next }
         /^ *\|?(Pre)?Depends: / { alt = prev_or; prev_or = ($0 ~ /^ *\|/); want = 0
                                  if (alt) next
                                  if ($2 ~ /^</) { want = 1; next }
                                  print pkg, $2; next }
         /^    [^ ]/ && want   { print pkg, $1; want = 0 }' | sed 's/:any$//; s/:amd64$//'
}
declare -A IN_CLOSURE=() SKIPPED=()
frontier=("${ROOTS[@]}")
for p in "${frontier[@]}"; do IN_CLOSURE[$p]=1; done
while [ ${#frontier[@]} -gt 0 ]; do   # breadth first, one apt-cache call per level
  next=()
  while read -r _ d; do
    [ -z "$d" ] && continue
    [ -n "${IN_CLOSURE[$d]+x}" ] && continue
    if ! is_root "$d" && reason=$(skip_reason "$d"); then SKIPPED[$d]=$reason; continue; fi
    IN_CLOSURE[$d]=1; next+=("$d")
  done < <(deps_of "${frontier[@]}")
  frontier=("${next[@]}")
done
mapfile -t CLOSURE < <(printf '%s\n' "${!IN_CLOSURE[@]}" | sort)
say "closure: ${#CLOSURE[@]} packages (${#SKIPPED[@]} dependencies skipped)"

# ---- download the closure into the cache (skipping what is there already)
mkdir -p "$CACHE"
declare -A DEB=() VER=()
while read -r p ver arch size; do VER[$p]="$ver $arch $size"; done < <(
  apt-cache show --no-all-versions "${CLOSURE[@]}" |
    awk '/^Package:/ {p=$2} /^Version:/ {v=$2} /^Architecture:/ {a=$2} /^Size:/ {s=$2} /^$/ && p {print p, v, a, s; p=""}
         END {if (p) print p, v, a, s}')
to_fetch=()
for p in "${CLOSURE[@]}"; do
  [ -n "${VER[$p]:-}" ] || die "apt-cache knows no version of $p"
  read -r ver arch size <<< "${VER[$p]}"
  f="${p}_${ver//:/%3a}_${arch}.deb"
  DEB[$p]=$f
  if [ -f "$DEST/$f" ] && [ "$(stat -c %s "$DEST/$f")" = "$size" ] && [ ! -f "$CACHE/$f" ]; then
    cp -p "$DEST/$f" "$CACHE/$f"
  fi
  if [ ! -f "$CACHE/$f" ] || [ "$(stat -c %s "$CACHE/$f")" != "$size" ]; then
    rm -f "$CACHE/$f"; to_fetch+=("$p=$ver")
  fi
done
if [ ${#to_fetch[@]} -gt 0 ]; then
  say "downloading ${#to_fetch[@]} packages into $CACHE"
  if ! (cd "$CACHE" && apt-get "${APT_OPTS[@]}" download -q "${to_fetch[@]}" >/dev/null); then
    say "apt-get download failed; refreshing the package lists once and retrying"
    apt-get update -qq || die "apt-get update failed (network to Debian's mirror?)"
    (cd "$CACHE" && apt-get "${APT_OPTS[@]}" download -q "${to_fetch[@]}" >/dev/null) ||
      die "apt-get download failed for: ${to_fetch[*]}"
  fi
fi
for p in "${CLOSURE[@]}"; do [ -f "$CACHE/${DEB[$p]}" ] || die "expected $CACHE/${DEB[$p]} after apt-get download"; done

# ---- 3: keep what is NEEDED. Unpack each package alone, index its sonames and the NEEDED entries of its ELF files.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-deps.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
declare -A PROVIDER=() NEEDS=()
for p in "${CLOSURE[@]}"; do
  x="$WORK/x/$p"; mkdir -p "$x"
  dpkg-deb -x "$CACHE/${DEB[$p]}" "$x" || die "cannot unpack ${DEB[$p]}"
  while IFS= read -r -d '' so; do PROVIDER[$(basename "$so")]=$p; done \
    < <(find "$x" \( -type f -o -type l \) -name 'lib*.so.*' -print0)
  needs=""
  while IFS= read -r -d '' f; do
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    needs+=" $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
  done < <(find "$x" -type f \( -name '*.so*' -o -path '*/bin/*' \) -print0)
  NEEDS[$p]=$needs
done
# The base packages' sonames, from their installed copies here (Debian 12 and Ubuntu 24.04 name them alike).
declare -A BASE_SONAME=()
for b in "${!SKIP[@]}"; do
  case ${SKIP[$b]} in base*) ;; *) continue ;; esac
  { dpkg -L "$b" 2>/dev/null || true; } | { grep -E '/lib[^/]*\.so\.[0-9]' || true; } | xargs -r -n1 basename
done > "$WORK/base-sonames"
while read -r s; do BASE_SONAME[$s]=1; done < "$WORK/base-sonames"
BASE_SONAME[ld-linux-x86-64.so.2]=1

declare -A KEEP=()
for r in "${ROOTS[@]}"; do KEEP[$r]=1; done
unresolved=()
changed=1
while [ $changed -eq 1 ]; do
  changed=0; unresolved=()
  for p in "${!KEEP[@]}"; do
    for s in ${NEEDS[$p]}; do
      [ -n "${BASE_SONAME[$s]+x}" ] && continue
      q=${PROVIDER[$s]:-}
      if [ -z "$q" ]; then unresolved+=("$s (NEEDED by $p)"); continue; fi
      [ -n "${KEEP[$q]+x}" ] || { KEEP[$q]=1; changed=1; }
    done
  done
done
if [ ${#unresolved[@]} -gt 0 ]; then
  printf '  %s\n' "${unresolved[@]}" | sort -u >&2
  die "the sonames above are NEEDED but neither downloaded nor base: add their package to ROOTS (or drop it from SKIP)"
fi
# The links the build uses must land inside the kept set (or on a base library).
for l in "${LINKED[@]}"; do
  link=$(find "$WORK/x" -name "$l" -type l -path '*/x86_64-linux-gnu/*' -print -quit)
  [ -n "$link" ] || die "no package in the closure has the link $l"
  t=$(basename "$(readlink "$link")")
  [ -n "${BASE_SONAME[$t]+x}" ] && continue
  base_of_target=$(basename "$(readlink -f "$link")")
  q=${PROVIDER[$t]:-${PROVIDER[$base_of_target]:-}}
  [ -n "$q" ] && [ -n "${KEEP[$q]+x}" ] && continue
  case $t in libz.so.*) continue ;; esac   # zlib1g is base: gpu-build.sh re-points libz.so at the machine's libz.so.1
  die "$l -> $t is not provided by a kept package"
done

# ---- gpu-deps/: exactly the kept packages
mkdir -p "$DEST"
declare -A WANT=()
for p in "${!KEEP[@]}"; do WANT[${DEB[$p]}]=1; done
for f in "$DEST"/*.deb; do
  [ -e "$f" ] || continue
  [ -n "${WANT[$(basename "$f")]+x}" ] || { say "removing stale $(basename "$f")"; rm -f "$f"; }
done
for f in "${!WANT[@]}"; do
  [ -f "$DEST/$f" ] && cmp -s "$CACHE/$f" "$DEST/$f" || cp -p "$CACHE/$f" "$DEST/$f"
done
(cd "$DEST" && sha256sum -- *.deb > SHA256SUMS)

dropped=()
for p in "${CLOSURE[@]}"; do [ -n "${KEEP[$p]+x}" ] || dropped+=("$p"); done
say "skipped dependencies (never downloaded):"
for d in $(printf '%s\n' "${!SKIPPED[@]}" | sort); do printf '  %-32s %s\n' "$d" "${SKIPPED[$d]}" >&2; done
say "dropped from the closure (no shared library of theirs is NEEDED): ${dropped[*]:-none}"
say "gpu-deps/ holds ${#KEEP[@]} packages:"
for p in $(printf '%s\n' "${!KEEP[@]}" | sort); do
  printf '  %-34s %7d kB\n' "$p" $(( $(stat -c %s "$DEST/${DEB[$p]}") / 1024 )) >&2
done
bytes=$(cat "$DEST"/*.deb | wc -c)
mb=$(( (bytes + 1048575) / 1048576 ))
echo "gpu-deps: total $(numfmt --to=iec-i --suffix=B "$bytes") in ${#KEEP[@]} .debs ($DEST/)"
[ "$mb" -le "$HARD_LIMIT_MB" ] || die "$mb MiB is over the ${HARD_LIMIT_MB} MiB limit"
[ "$mb" -le "$SOFT_LIMIT_MB" ] || say "warning: $mb MiB is over the ${SOFT_LIMIT_MB} MiB target"
