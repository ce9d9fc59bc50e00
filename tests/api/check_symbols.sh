#!/usr/bin/env bash
# Every symbol libcsf exports starts with csf_; nothing internal (csf__*)
# leaves the shared library; the static archive defines no global symbol
# outside the csf_ namespace (curl checks its exports the same way).
set -euo pipefail
so=$1 archive=$2
fail=0

exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
[ -n "$exported" ] || { echo "no exported symbols in $so"; exit 1; }
bad=$(printf '%s\n' "$exported" | grep -v '^csf_' || true)
if [ -n "$bad" ]; then echo "exported without the csf_ prefix:"; echo "$bad"; fail=1; fi
internal=$(printf '%s\n' "$exported" | grep '^csf__' || true)
if [ -n "$internal" ]; then echo "internal symbols exported:"; echo "$internal"; fail=1; fi

globals=$(nm --defined-only "$archive" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBRVW]$/ {print $3}')
bad=$(printf '%s\n' "$globals" | grep -v '^csf_' || true)
if [ -n "$bad" ]; then echo "global symbols in $archive outside csf_:"; echo "$bad"; fail=1; fi

soname=$(objdump -p "$so" | awk '$1 == "SONAME" {print $2}')
case "$soname" in
  libcsf.so.[0-9]*) ;;
  *) echo "unexpected SONAME '$soname'"; fail=1 ;;
esac
echo "$(printf '%s\n' "$exported" | wc -l) exported symbols, SONAME $soname"
exit $fail
