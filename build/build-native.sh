#!/usr/bin/env bash
# Builds one of Spindle's shared libraries (or, with --executable, a program) from every .c
# file of a folder.
# Maven calls it (exec-maven-plugin) from each module that has native code:
#   build-native.sh OUTPUT.so SOURCE_DIR [extra compiler/linker arguments...]
# The compiler is $CC, else gcc. Nothing prebuilt is ever committed: this runs on every build.
set -euo pipefail

# With --executable first, a program instead of a shared library (spindle-host).
kind=-shared
if [ "${1:-}" = --executable ]; then
  kind=-pie; shift
fi
if [ $# -lt 2 ]; then
  echo "usage: build-native.sh [--executable] OUTPUT SOURCE_DIR [extra args...]" >&2
  exit 2
fi
out=$1; src=$2; shift 2

cc=${CC:-gcc}
if ! command -v "$cc" >/dev/null 2>&1; then
  cat >&2 <<MSG
[spindle] ERROR: no C compiler: '$cc' is not on PATH.
[spindle] Spindle builds its native libraries from source during the Maven build.
[spindle] Install gcc (Debian/Ubuntu: apt-get install gcc) or point \$CC at a C compiler.
MSG
  exit 1
fi

shopt -s nullglob
sources=("$src"/*.c "$src"/*.S) # .S: assembly, each file guarded by its architecture
if [ ${#sources[@]} -eq 0 ] && ! compgen -G "$src/*.cpp" >/dev/null; then
  echo "[spindle] ERROR: no C or assembly sources in $src" >&2
  exit 1
fi

mkdir -p "$(dirname "$out")"
# -Werror: a warning in native code is a bug we have not understood yet.
# -fno-strict-aliasing: the off-heap layouts are read through several types on purpose.
# -fstack-clash-protection: a frame larger than a page is touched a page at a time as it is
#  allocated, so it hits the guard below a green thread's stack instead of stepping over it
#  into a neighbour's (fiber.c). Task libraries are asked to build with it too (spindle.h).
# -z now: bind every symbol at load. Lazy binding runs the dynamic linker's resolver on the
#  caller's stack, and it saves the whole vector state there (kilobytes): too much for a
#  green thread's small stack, and fatal for the overflow report near its end.

# C++ sources (tests only, so far) are compiled apart with $CXX, else g++, with the same
# warnings, the include paths among the extra arguments, and linked in with libstdc++.
cxx_sources=("$src"/*.cpp)
objects=()
libraries=(-ldl)
if [ ${#cxx_sources[@]} -gt 0 ]; then
  cxx=${CXX:-g++}
  if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "[spindle] ERROR: $src has C++ sources and '$cxx' is not on PATH (Debian/Ubuntu: apt-get install g++, or set \$CXX)." >&2
    exit 1
  fi
  includes=()
  for arg in "$@"; do
    case $arg in -I*|-D*) includes+=("$arg") ;; esac
  done
  objdir=$(mktemp -d)
  trap 'rm -rf "$objdir"' EXIT
  for f in "${cxx_sources[@]}"; do
    obj="$objdir/$(basename "$f").o"
    "$cxx" -std=c++17 -O2 -g -fPIC -pthread -Wall -Wextra -Werror -Wno-unused-parameter \
      -fstack-clash-protection -I "$src" "${includes[@]}" -c "$f" -o "$obj"
    objects+=("$obj")
  done
  libraries+=(-lstdc++)
fi

echo "[spindle] $cc: $(( ${#sources[@]} + ${#cxx_sources[@]} )) source file(s) in $src -> $out"
"$cc" -std=gnu11 -O2 -g -fPIC "$kind" -pthread \
  -Wall -Wextra -Werror -Wno-unused-parameter -fno-strict-aliasing -fstack-clash-protection \
  -Wl,-z,noexecstack -Wl,-z,now -Wl,--no-undefined \
  -I "$src" -o "$out" "${sources[@]}" "$@" "${objects[@]}" "${libraries[@]}" # libraries (-l) after the code that needs them
