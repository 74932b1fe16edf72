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
from common.methods import load_method_plugins


def create_app(settings: Settings | None = None) -> Celery:
    """Build the workers' Celery app for ``settings`` (default: the process settings)."""
    settings = settings or get_settings()
    # A run's spec is built here from the method registry, so the worker knows the plug-ins' methods too
    # (the training process loads them again itself).
    load_method_plugins(settings.method_plugin_modules)
    app = Celery("zopoc", include=["worker.tasks"])
    app.conf.update(celery_config(settings))
    return app


app = create_app()
