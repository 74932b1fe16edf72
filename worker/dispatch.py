"""What the API calls to hand runs to the workers (no torch, no database writes here).

* :func:`enqueue_run` — after the API committed a queued run, send it to the queue of its device kind.
* :func:`request_cancel` — after the API set ``runs.cancel_requested``.

Cancel is carried by the database flag alone: the worker relaying a run's events reads ``cancel_requested``
with every batch it writes (every ``relay_flush_s``, 0.5 s by default, also while the engine is silent,
e.g. loading a model), sends SIGTERM to the training process and SIGKILL after ``cancel_grace_s``. That
works the same on every broker (the filesystem broker has no reliable broadcast to a busy prefork child),
cannot be lost like a message, and a queued run's task finds the run no longer queued and returns. So
:func:`request_cancel` has nothing to send; it is the hook where a faster nudge would go.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery

from backend.core.config import Settings, get_settings

log = logging.getLogger(__name__)

_apps: dict[tuple, Celery] = {}
_apps_lock = threading.Lock()


def _producer(settings: Settings) -> Celery:
    """A Celery app for the current broker settings (tests and tools may switch settings at run time)."""
    key = (settings.broker_url, str(settings.broker_dir), settings.queue_prefix, settings.redis_prefix)
    with _apps_lock:
        app = _apps.get(key)
        if app is None:
            from worker.celery_app import create_app

            app = _apps[key] = create_app(settings)
        return app


def enqueue_run(run_id: str, queue: str) -> str:
    """Send run ``run_id`` to the workers of device kind ``queue`` ("cpu" or "gpu"); return the task id.

    Call it only after the transaction that created the run committed, so the task finds its row.
    """
    from worker.celery_app import queue_name

    settings = get_settings()
    # By name: the API process need not import the task's module (and its runner) to send it.
    result = _producer(settings).send_task("zopoc.run_training", args=[run_id],
                                           queue=queue_name(queue, settings))
    return result.id


def request_cancel(run_id: str) -> None:
    """Called after ``runs.cancel_requested`` was set for ``run_id``; the worker polls that flag."""
    log.debug("cancel of run %s requested; its worker sees the flag within relay_flush_s", run_id)
