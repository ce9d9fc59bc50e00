#!/usr/bin/env bash
# Each public header also compiles alone as C++ (extern "C" guards, no C-only syntax).
set -euo pipefail
inc=$1
cxx=${CXX:-$(command -v g++ || command -v clang++ || true)}
[ -n "$cxx" ] || { echo "no C++ compiler found (install g++)"; exit 1; }
for h in "$inc"/csf/*.h; do
  printf '#include <csf/%s>\nint main() { return 0; }\n' "$(basename "$h")" |
    "$cxx" -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -I"$inc" -fsyntax-only - ||
    { echo "FAIL: $h as C++"; exit 1; }
done
echo "all headers compile as C++"
