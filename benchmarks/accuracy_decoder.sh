#!/usr/bin/env bash
# The decoder preset of benchmarks/accuracy.py, one (k, seed) per hold of the shared heavy-job lock so other
# heavy jobs can run between them. Rows accumulate in the --out file; rows already there are not run again,
# so this can be stopped and started again. Seed 0 also draws the dev curve at each validation point.
#   benchmarks/accuracy_decoder.sh [rows.jsonl]     (default: benchmarks/RESULTS-accuracy-decoder.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/RESULTS-accuracy-decoder.jsonl}
run() {
  # rows already measured need no turn of the lock
  [ "$(.venv/bin/python benchmarks/accuracy_decoder.py --out "$out" --todo "$@")" = 0 ] && return 0
  echo "=== $* $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  OMP_NUM_THREADS=2 flock /tmp/zopoc-heavy.lock .venv/bin/python benchmarks/accuracy.py --preset decoder \
    --out "$out" "$@"
  # flock is not fair: let jobs that waited for the lock take it before this script asks again.
  sleep "${ZOPOC_BENCH_PAUSE_S:-90}"
}
for k in 512 16; do
  for seed in 0 1 2; do
    if [ "$seed" = 0 ]; then run --ks $k --seeds $seed --methods lozo,mezo --curve
    else run --ks $k --seeds $seed --methods lozo,mezo; fi
  done
done
for k in 512 16; do
  for seed in 0 1 2; do run --ks $k --seeds $seed --methods adamw; done
done
.venv/bin/python benchmarks/accuracy_decoder.py --markdown-from "$out"
