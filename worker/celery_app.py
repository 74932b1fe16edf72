"""The Celery application of zopoc's workers, configured from ``backend.core.config`` settings.

Start a worker with ``celery -A worker.celery_app worker --concurrency 1`` (it consumes the queues of the
device kinds in ``ZOPOC_WORKER_QUEUES``, default ``cpu``; ``-Q`` names queues explicitly). Only the
broker and database URLs are needed, so workers on several machines share one deployment.

Choices, and why:

* ``task_acks_late=False``: the message is acknowledged as the task *starts*. A training run lasts
  longer than Redis's ``visibility_timeout`` (1 h): a late-acknowledged run would be delivered a second time
  to another worker while the first still trains. The database row is the truth instead: the task claims
  the row (``queued`` -> ``running``) atomically, a heartbeat column shows it is alive, and the stale-run
  sweep (:func:`worker.tasks.sweep_stale_runs`) fails runs whose worker vanished.
* ``worker_prefetch_multiplier=1`` and one process per worker: a worker holds exactly the run it trains, so
  queued runs stay in the broker for the next free worker.
* Queues per device kind (``cpu``, ``gpu``, prefixed with ``queue_prefix``): GPU workers consume ``gpu``.
* JSON only, no result backend: tasks report through the database.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from backend.core.config import Settings, get_settings

DEVICE_KINDS = ("cpu", "gpu")


def queue_name(kind: str, settings: Settings | None = None) -> str:
    """The Celery queue of a device kind (``cpu`` or ``gpu``) under the configured prefix."""
    if kind not in DEVICE_KINDS:
        raise ValueError(f"unknown queue kind {kind!r}; expected one of {DEVICE_KINDS}")
    settings = settings or get_settings()
    return f"{settings.queue_prefix}{kind}"


def _transport_options(settings: Settings) -> dict:
    options = settings.broker_transport_options()
    if settings.broker_url.startswith("filesystem"):
        # kombu's filesystem transport keeps its broadcast (remote control) tables in ./control unless
        # told otherwise; keep them beside the queue folders.
        control = settings.broker_dir / "control"
        control.mkdir(parents=True, exist_ok=True)
        options |= {"control_folder": str(control), "polling_interval": 0.2}
    return options


def create_app(settings: Settings | None = None) -> Celery:
    """Build the Celery app for ``settings`` (default: the process settings)."""
    settings = settings or get_settings()
    app = Celery("zopoc", include=["worker.tasks"])
    consumed = [k.strip() for k in settings.worker_queues.split(",") if k.strip()]
    app.conf.update(
        broker_url=settings.broker_url,
        broker_transport_options=_transport_options(settings),
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
        worker_concurrency=1,
        task_default_queue=queue_name("cpu", settings),
        task_queues=[Queue(queue_name(kind, settings)) for kind in consumed],
        # Broadcasts (remote control, events) stay inside this install / test session.
        control_exchange=f"{settings.queue_prefix}celery",
        event_exchange=f"{settings.queue_prefix}celeryev",
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app


app = create_app()
