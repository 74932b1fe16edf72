"""Celery tasks: ``run_training`` (one run in a child process), ``export_run`` (a run's model folder) and
the sweeps (``backend.sweep``).

The worker runs the sweeps every ``sweep_every_s`` seconds in a thread of its main process (started when
the worker is ready): runs whose worker vanished are failed, and queued runs a restarted Redis broker
forgot are sent again. Another thread writes the worker's presence (``backend.workers``) every
``worker_presence_s`` seconds, so the API knows which device kinds are served, and withdraws it on stop.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from celery import signals

from backend.core.config import Settings, get_settings
from backend.db.session import make_sessionmaker
from backend.dispatch import EXPORT_TASK, RUN_TASK, SWEEP_TASK
from backend.sweep import sweep_once, sweep_stale_runs
from backend.workers import announce, withdraw
from worker.celery_app import app
from worker.execution.export import export_run
from worker.execution.runner import execute_run
from worker.slots import worker_slots

log = logging.getLogger(__name__)


@app.task(name=RUN_TASK, bind=True, ignore_result=True)
def run_training(self: Any, run_id: str) -> str | None:
    """Train run ``run_id`` in a child process; returns quietly when the run no longer applies."""
    return execute_run(run_id, worker_name=self.request.hostname, task_id=self.request.id)


@app.task(name=EXPORT_TASK, ignore_result=True)
def export_run_task(run_id: str) -> str | None:
    """Prepare run ``run_id``'s model folder (zip of its final weights); quiet when it no longer applies."""
    return export_run(run_id)


@app.task(name=SWEEP_TASK, ignore_result=True)
def sweep_stale_runs_task() -> int:
    """The sweep as a task, for deployments that prefer celery beat to the worker's own thread."""
    return sweep_stale_runs()


def _sweep_forever(stop: threading.Event, settings: Settings) -> None:
    while not stop.wait(settings.sweep_every_s):
        sweep_once(settings)


def _announce(settings: Settings, name: str, queues: list[str]) -> None:
    try:
        with make_sessionmaker(settings.database_url)() as session:
            announce(session, name, queues, slots=worker_slots())
    except Exception:  # a database blip: the next interval tries again
        log.exception("could not record this worker's presence")


def _announce_forever(stop: threading.Event, settings: Settings, name: str, queues: list[str]) -> None:
    _announce(settings, name, queues)
    while not stop.wait(settings.worker_presence_s):
        _announce(settings, name, queues)


def _consumed_queues(consumer: Any, settings: Settings) -> list[str]:
    """The queues this worker consumes (``-Q`` or ``ZOPOC_WORKER_QUEUES``), as Celery set them up."""
    task_consumer = getattr(consumer, "task_consumer", None)
    names = [queue.name for queue in getattr(task_consumer, "queues", [])]
    return names or [q.strip() for q in settings.worker_queues.split(",") if q.strip()]


_stop = threading.Event()
_presence: dict[str, Any] = {}  # this worker's name and settings, to withdraw on stop


@signals.worker_ready.connect
def _start_background_threads(sender: Any = None, **_kwargs: Any) -> None:
    settings = get_settings()
    threading.Thread(
        target=_sweep_forever, args=(_stop, settings), name="zopoc-stale-run-sweep", daemon=True
    ).start()
    name = getattr(sender, "hostname", None) or socket.gethostname()
    _presence.update(name=name, settings=settings)
    threading.Thread(
        target=_announce_forever,
        args=(_stop, settings, name, _consumed_queues(sender, settings)),
        name="zopoc-worker-presence",
        daemon=True,
    ).start()


@signals.worker_shutdown.connect
def _stop_background_threads(**_kwargs: Any) -> None:
    _stop.set()
    if _presence:
        try:
            with make_sessionmaker(_presence["settings"].database_url)() as session:
                withdraw(session, _presence["name"])
        except Exception:  # it then grows stale and is ignored after three intervals
            log.exception("could not withdraw this worker's presence")
