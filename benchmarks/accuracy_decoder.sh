#!/usr/bin/env bash
# The decoder preset of benchmarks/accuracy.py, one (k, seed) per hold of the shared heavy-job lock so other
# heavy jobs can run between them. Rows accumulate in the --out file; rows already there are not run again,
# so this can be stopped and started again. Seed 0 also draws the dev curve at each validation point.
# The headline setting: LOZO's unbiased 1/r estimate, the ZO estimates clipped at 2x their running RMS, and
# the learning rates the probe chose for LOZO and MeZO unclipped (5e-5 both; the clip first acts at step 11
# of the probe's 20). ZOPOC_BENCH_VARIANT overrides, e.g. "--lozo-scale reference" for the reference code.
#   benchmarks/accuracy_decoder.sh [rows.jsonl]     (default: benchmarks/RESULTS-accuracy-decoder.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/RESULTS-accuracy-decoder.jsonl}
read -r -a variant <<< "${ZOPOC_BENCH_VARIANT:---lozo-scale paper --zo-clip 2 --lr lozo=5e-5 --lr mezo=5e-5}"
run() {
  # rows already measured need no turn of the lock
  [ "$(.venv/bin/python benchmarks/accuracy_decoder.py --out "$out" --todo "${variant[@]}" "$@")" = 0 ] && return 0
  echo "=== $* $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  OMP_NUM_THREADS=2 flock /tmp/zopoc-heavy.lock .venv/bin/python benchmarks/accuracy.py --preset decoder \
    --out "$out" "${variant[@]}" "$@"
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
.venv/bin/python benchmarks/accuracy_decoder.py --markdown-from "$out" "${variant[@]}"
