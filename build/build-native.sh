#!/usr/bin/env bash
# Builds one of Spindle's shared libraries from every .c file of a folder.
# Maven calls it (exec-maven-plugin) from each module that has native code:
#   build-native.sh OUTPUT.so SOURCE_DIR [extra compiler/linker arguments...]
# The compiler is $CC, else gcc. Nothing prebuilt is ever committed: this runs on every build.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: build-native.sh OUTPUT.so SOURCE_DIR [extra args...]" >&2
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
sources=("$src"/*.c)
if [ ${#sources[@]} -eq 0 ]; then
  echo "[spindle] ERROR: no C sources in $src" >&2
  exit 1
fi

mkdir -p "$(dirname "$out")"
# -Werror: a warning in native code is a bug we have not understood yet.
# -fno-strict-aliasing: the off-heap layouts are read through several types on purpose.
echo "[spindle] $cc: ${#sources[@]} C file(s) in $src -> $out"
"$cc" -std=gnu11 -O2 -g -fPIC -shared -pthread \
  -Wall -Wextra -Werror -Wno-unused-parameter -fno-strict-aliasing \
  -Wl,-z,noexecstack -Wl,--no-undefined \
  -I "$src" "$@" -o "$out" "${sources[@]}" -ldl
