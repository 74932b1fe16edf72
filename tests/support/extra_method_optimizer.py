"""The optimizer of the test plug-in ZO-Sign (``tests.support.extra_method``): imported by the engine only."""

from __future__ import annotations

import math
from typing import Any

from worker.zo import MeZO


class ZOSign(MeZO):
    """MeZO whose update uses sign(c) instead of the projected gradient c (a bounded step size)."""

    def _restore_and_update(self, t: int, c: float) -> None:
        super()._restore_and_update(t, math.copysign(1.0, c) if c != 0 else 0.0)


def build(params: list[Any], spec: Any, lr: float) -> ZOSign:
    return ZOSign(params, lr=lr, zo_eps=spec.zo_eps, weight_decay=spec.weight_decay, seed=spec.seed)
