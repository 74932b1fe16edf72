#!/usr/bin/env bash
# The one check to run on a machine with one GPU (a few minutes, under ten): the optimizer tests on CUDA,
# per-method memory and step cost on an OPT-1.3B-shaped model in bfloat16, and the memory forecast against
# the measurement, as one table. Extra arguments go to benchmarks/gpu_check.py (e.g. --json, --methods lozo).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
echo "gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader 2>/dev/null || true
exec .venv/bin/python benchmarks/gpu_check.py "$@"
