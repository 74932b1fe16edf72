"""The API's own sweep of runs whose worker vanished (``backend.sweep``).

Every worker already sweeps. When the last worker is gone for good (its machine was switched off), nobody
would, and the dashboard would show the run as running forever. So the API process sweeps too, at start and
every ``sweep_every_s``.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from backend.core.config import Settings
from backend.sweep import sweep_stale_runs

log = logging.getLogger(__name__)


async def sweep_forever(settings: Settings) -> None:
    while True:
        try:
            failed = await run_in_threadpool(sweep_stale_runs, settings)
            if failed:
                log.warning("%d run(s) failed: their worker stopped sending heartbeats", failed)
        except Exception:  # a database blip must not end the sweeping
            log.exception("stale-run sweep failed; trying again in %.0f s", settings.sweep_every_s)
        await asyncio.sleep(settings.sweep_every_s)
