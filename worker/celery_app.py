"""The Celery application of zopoc's workers, configured like the API's sender (``backend.dispatch``).

Start a worker with ``celery -A worker.celery_app worker --concurrency 1`` (it consumes the queues of the
device kinds in ``ZOPOC_WORKER_QUEUES``, default ``cpu``; ``-Q`` names queues explicitly). Only the
broker and database URLs are needed, so workers on several machines share one deployment. Why the
configuration is what it is: ``backend.dispatch``.
"""

from __future__ import annotations

from celery import Celery

from backend.core.config import Settings, get_settings
from backend.dispatch import celery_config


def create_app(settings: Settings | None = None) -> Celery:
    """Build the workers' Celery app for ``settings`` (default: the process settings)."""
    app = Celery("zopoc", include=["worker.tasks"])
    app.conf.update(celery_config(settings or get_settings()))
    return app


app = create_app()
