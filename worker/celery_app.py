"""The Celery application of zopoc's workers, configured like the API's sender (``backend.dispatch``).

Start a worker with ``celery -A worker.celery_app worker`` (it consumes the queues of the device kinds in
``ZOPOC_WORKER_QUEUES``, default ``cpu``; ``-Q`` names queues explicitly). It trains as many runs at once as
it has slots (``ZOPOC_WORKER_SLOTS``, see ``worker.slots``); an explicit ``--concurrency N`` overrides that.
Only the broker and database URLs are needed, so workers on several machines share one deployment. Why the
configuration is what it is: ``backend.dispatch``.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals

from backend.core.config import Settings, get_settings
from backend.dispatch import celery_config
from common.methods import load_method_plugins
from worker.slots import resolve_worker_slots, set_worker_slots

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Celery:
    """Build the workers' Celery app for ``settings`` (default: the process settings)."""
    settings = settings or get_settings()
    # A run's spec is built here from the method registry, so the worker knows the plug-ins' methods too
    # (the training process loads them again itself).
    load_method_plugins(settings.method_plugin_modules)
    app = Celery("zopoc", include=["worker.tasks"])
    app.conf.update(celery_config(settings))
    return app


def cli_queues(option: Any, settings: Settings) -> list[str]:
    """The queues named by ``-Q`` (a comma-separated string or a list), else ``ZOPOC_WORKER_QUEUES``."""
    if isinstance(option, str):
        option = option.split(",")
    named = [str(q).strip() for q in option or [] if str(q).strip()]
    return named or [q.strip() for q in settings.worker_queues.split(",") if q.strip()]


@signals.celeryd_init.connect
def _size_the_pool(conf: Any = None, options: dict[str, Any] | None = None, **_kwargs: Any) -> None:
    """Before the worker sizes its pool: one pool process per slot, unless ``--concurrency`` was given."""
    options = options or {}
    explicit = options.get("concurrency")
    if isinstance(explicit, int) and explicit > 0:
        slots = explicit
    else:
        settings = get_settings()
        slots = resolve_worker_slots(settings, cli_queues(options.get("queues"), settings))
        if conf is not None:
            conf.worker_concurrency = slots
    set_worker_slots(slots)
    log.info("this worker trains up to %d run(s) at once", slots)


app = create_app()
