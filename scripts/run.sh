#!/usr/bin/env bash
# Sets up and runs zopoc on one port: the API, the built dashboard and one Celery worker.
#   scripts/run.sh                 embedded defaults: SQLite under var/, Celery's filesystem broker, no Redis
#   ZOPOC_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/zopoc \
#   ZOPOC_BROKER_URL=redis://127.0.0.1:6379/0 ZOPOC_REDIS_URL=redis://127.0.0.1:6379/0 scripts/run.sh
#                                  the same code on Postgres and Redis
# ZOPOC_HOST / ZOPOC_PORT choose the address (default 127.0.0.1:8000). Ctrl-C stops everything.
# The worker trains ZOPOC_WORKER_SLOTS runs at once (auto: one per ZOPOC_THREADS_PER_RUN cores, one per GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TOKENIZERS_PARALLELISM=false
host=${ZOPOC_HOST:-127.0.0.1}
port=${ZOPOC_PORT:-8000}

.venv/bin/python -m backend.prestart          # wait for the database, then migrate it

.venv/bin/celery -A worker.celery_app worker --loglevel INFO &
worker_pid=$!
trap 'kill $worker_pid 2>/dev/null; wait $worker_pid 2>/dev/null' EXIT INT TERM

echo "zopoc: open http://$host:$port/  (API docs at http://$host:$port/api/docs)"
.venv/bin/uvicorn backend.api.main:app --host "$host" --port "$port" --no-proxy-headers
