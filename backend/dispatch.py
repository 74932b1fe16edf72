"""Handing runs to the workers: the Celery configuration both sides share, and what the API sends.

The API never imports the worker package: it sends the training task by name (``RUN_TASK``) to the queue of
the run's device kind, with a Celery app configured here from the settings. The workers' app
(``worker.celery_app``) is built from the same configuration and registers the tasks under those names.

Choices, and why:

* ``task_acks_late=False``: the message is acknowledged as the task *starts*. A training run lasts
  longer than Redis's ``visibility_timeout`` (1 h): a late-acknowledged run would be delivered a second time
  to another worker while the first still trains. The database row is the truth instead: the task claims
  the row (``queued`` -> ``running``) atomically, a heartbeat column shows it is alive, and the stale-run
  sweep (``backend.sweep``) resumes runs whose worker vanished (``backend.resume``).
* ``worker_prefetch_multiplier=1`` and one pool process per *slot*: a worker holds exactly the runs it
  trains, so queued runs stay in the broker for the next free slot. A worker's slots (``worker_slots``,
  ``auto`` by default: one per CUDA device on a GPU worker, one per ``threads_per_run`` cores on a CPU
  worker) are resolved by the worker itself at start (``worker.celery_app``), since counting CUDA devices
  needs torch, which the API never loads; ``worker_concurrency`` is therefore left unset here.
* Queues per device kind (``cpu``, ``gpu``, prefixed with ``queue_prefix``): GPU workers consume ``gpu``.
* JSON only, no result backend: tasks report through the database.

Cancel is carried by the database flag alone: the worker relaying a run's events reads ``cancel_requested``
with every batch it writes (every ``relay_flush_s``, 0.5 s by default, also while the engine is silent,
e.g. loading a model), sends SIGTERM to the training process and SIGKILL after ``cancel_grace_s``. That
works the same on every broker (the filesystem broker has no reliable broadcast to a busy prefork child),
cannot be lost like a message, and a queued run's task finds the run no longer queued and returns.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery
from kombu import Queue

from backend.broker_fs import TRANSPORT_PATH
from backend.core.config import Settings, get_settings

DEVICE_KINDS = ("cpu", "gpu")
# Task names: the API sends by name, the workers register under the same names.
RUN_TASK = "zopoc.run_training"
SWEEP_TASK = "zopoc.sweep_stale_runs"
EXPORT_TASK = "zopoc.export_run"


def queue_name(kind: str, settings: Settings | None = None) -> str:
    """The Celery queue of a device kind (``cpu`` or ``gpu``) under the configured prefix."""
    if kind not in DEVICE_KINDS:
        raise ValueError(f"unknown queue kind {kind!r}; expected one of {DEVICE_KINDS}")
    settings = settings or get_settings()
    return f"{settings.queue_prefix}{kind}"


def _transport_options(settings: Settings) -> dict[str, Any]:
    options = settings.broker_transport_options()
    if settings.broker_url.startswith("filesystem"):
        # kombu's filesystem transport keeps its broadcast (remote control) tables in ./control unless
        # told otherwise; keep them beside the queue folders.
        control = settings.broker_dir / "control"
        control.mkdir(parents=True, exist_ok=True)
        options |= {"control_folder": str(control), "polling_interval": 0.2}
    return options


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's configuration for ``settings``: the same for the API (sending) and the workers."""
    consumed = [k.strip() for k in settings.worker_queues.split(",") if k.strip()]
    return dict(
        broker_url=settings.broker_url,
        broker_transport_options=_transport_options(settings),
        # filesystem://: kombu's transport with atomic message writes (backend/broker_fs.py)
        broker_transport=TRANSPORT_PATH if settings.broker_url.startswith("filesystem") else None,
        broker_connection_retry_on_startup=True,
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=False,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        # With Redis a busy worker would still reserve one more message (prefetch), and if that worker
        # is then killed the message stays invisible in Redis's unacked set for the visibility timeout
        # (1 h): the run behind it would wait that long. Without prefetch a busy worker takes nothing.
        worker_disable_prefetch=settings.broker_url.startswith(("redis://", "rediss://")),
        # Decided by the worker at start from its slots (worker.celery_app); --concurrency still wins.
        worker_concurrency=None,
        task_default_queue=queue_name("cpu", settings),
        task_queues=[Queue(queue_name(kind, settings)) for kind in consumed],
        # Broadcasts (remote control, events) stay inside this install / test session.
        control_exchange=f"{settings.queue_prefix}celery",
        event_exchange=f"{settings.queue_prefix}celeryev",
        worker_hijack_root_logger=False,
        timezone="UTC",
    )


_producers: dict[tuple[str, ...], Celery] = {}
_producers_lock = threading.Lock()


def producer(settings: Settings) -> Celery:
    """A Celery app that sends tasks, for the current broker settings (tests may switch them at run time)."""
    key = (settings.broker_url, str(settings.broker_dir), settings.queue_prefix, settings.redis_prefix)
    with _producers_lock:
        app = _producers.get(key)
        if app is None:
            app = _producers[key] = Celery("zopoc")
            app.conf.update(celery_config(settings))
        return app


def enqueue_run(run_id: str, queue: str, settings: Settings | None = None, task_id: str | None = None) -> str:
    """Send run ``run_id`` to the workers of device kind ``queue`` ("cpu" or "gpu"); return the task id.

    Call it only after the transaction that created the run committed, so the task finds its row.
    """
    settings = settings or get_settings()
    result = producer(settings).send_task(
        RUN_TASK, args=[run_id], queue=queue_name(queue, settings), task_id=task_id
    )
    return str(result.id)


def enqueue_export(run_id: str, queue: str, settings: Settings | None = None) -> str:
    """Send the preparation of run ``run_id``'s model folder to the workers of ``queue``; the task id."""
    settings = settings or get_settings()
    result = producer(settings).send_task(EXPORT_TASK, args=[run_id], queue=queue_name(queue, settings))
    return str(result.id)
