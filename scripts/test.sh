#!/usr/bin/env bash
# Sets up and runs the whole zopoc test suite:
#   1. the Python suite against the real Postgres, Redis and Celery workers (ZOPOC_TEST_STACK=services),
#      browser tests in real Chromium included;
#   2. the service and API tests again on the embedded defaults (SQLite + Celery's filesystem broker);
#   3. the frontend's component tests (Vitest).
# Extra arguments go to the first pytest run (e.g. scripts/test.sh -k lozo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
source scripts/services.sh
ensure_postgres
ensure_redis

export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p test-artifacts

echo "== Lint, format, types and layers: ruff, mypy, lint-imports =="
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports

echo "== Python suite on Postgres + Redis + Celery =="
ZOPOC_TEST_STACK=services .venv/bin/pytest -q -ra --durations=15 "$@"

echo "== API and service suite on the embedded defaults (SQLite, filesystem broker) =="
ZOPOC_TEST_STACK=embedded .venv/bin/pytest -q -ra -m "not postgres and not redis" tests/api tests/service

echo "== Frontend checks: types, ESLint, Prettier, generated API schema ==" && (cd frontend && npm run check --silent)
echo "== Frontend component tests =="
(cd frontend && npm test --silent)
