"""What the API calls to hand runs to the workers (no torch, no database writes here).

* :func:`enqueue_run` — after the API committed a queued run, send it to the queue of its device kind.
* :func:`request_cancel` — after the API set ``runs.cancel_requested``.

Cancel is carried by the database flag: the worker relaying a run's events reads ``cancel_requested`` at
every batch (every ``relay_flush_s``, 0.5 s by default) and ends the training process. That works the same
on every broker (the filesystem broker has no reliable broadcast to a busy prefork child) and survives a
lost message, so :func:`request_cancel` only has to *nudge*: where Redis is configured it publishes the run
id on ``{redis_prefix}cancel`` for anything that wants to react sooner; it never fails the API call.
"""

from __future__ import annotations

import logging

from backend.core.config import get_settings

log = logging.getLogger(__name__)


def enqueue_run(run_id: str, queue: str) -> str:
    """Send run ``run_id`` to the workers of device kind ``queue`` ("cpu" or "gpu"); return the task id.

    Call it only after the transaction that created the run committed, so the task finds its row.
    """
    from worker.celery_app import queue_name
    from worker.tasks import run_training

    result = run_training.apply_async(args=[run_id], queue=queue_name(queue))
    return result.id


def request_cancel(run_id: str) -> None:
    """Nudge the workers after ``runs.cancel_requested`` was set for ``run_id`` (best effort)."""
    settings = get_settings()
    if not settings.redis_url:
        return
    try:
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
        try:
            client.publish(f"{settings.redis_prefix}cancel", run_id)
        finally:
            client.close()
    except Exception as error:  # the database flag is the truth; the nudge may fail quietly
        log.warning("cancel nudge for run %s not published: %s", run_id, error)
