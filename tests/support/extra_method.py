"""A method plug-in for tests: ZO-Sign, MeZO's perturbation stepped by the sign of the projected gradient.

Named in ``ZOPOC_METHOD_PLUGINS=tests.support.extra_method``, it shows that a method registered outside the
code base reaches every part of the product (API list, launch form, chart colours, badges, reports, ROI)
without another file changing, and that it really trains.

The registry entry is made in every process that loads the plug-in (API, worker, training process). The
optimizer is registered only in a process that runs the engine (``python -m worker.train`` has imported
``worker.train``): the web process and the worker's supervisor must not load torch.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from common.methods import WEIGHT_DECAY, ZO_EPS, ZO_LR, MemoryProfile, MethodInfo, is_method, register_method

ZO_SIGN = MethodInfo(
    "zo_sign",
    "ZO-Sign",
    "zeroth_order",
    "zeroth-order SGD stepping by the sign of the projected gradient (test plug-in)",
    color="#123456",
    order=45,
    hyperparameters=(ZO_LR, ZO_EPS, WEIGHT_DECAY),
    step_cost_forwards=3.0,
    memory=MemoryProfile(full_noise=True),
)


def _register_optimizer() -> None:
    from worker.train.optimizers import register_optimizer, trainable_methods
    from worker.zo import MeZO

    class ZOSign(MeZO):
        """MeZO whose update uses sign(c) instead of the projected gradient c (a bounded step size)."""

        def _restore_and_update(self, t: int, c: float) -> None:
            super()._restore_and_update(t, math.copysign(1.0, c) if c != 0 else 0.0)

    def factory(params: list[Any], spec: Any, lr: float) -> ZOSign:
        return ZOSign(params, lr=lr, zo_eps=spec.zo_eps, weight_decay=spec.weight_decay, seed=spec.seed)

    if ZO_SIGN.name not in trainable_methods():
        register_optimizer(ZO_SIGN.name, factory)


if not is_method(ZO_SIGN.name):
    register_method(ZO_SIGN)
if "worker.train" in sys.modules:
    _register_optimizer()
