"""A method plug-in for tests: ZO-Sign, MeZO's perturbation stepped by the sign of the projected gradient.

Named in ``ZOPOC_METHOD_PLUGINS=tests.support.extra_method``, it shows that a method registered outside the
code base reaches every part of the product (API list, launch form, chart colours, badges, reports, ROI)
without another file changing, and that it really trains. The registry entry imports nothing heavy (the
API and the worker's supervisor load it); its optimizer lives in ``extra_method_optimizer``, which only the
training process imports, through the entry's ``optimizer`` path.
"""

from __future__ import annotations

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
    optimizer="tests.support.extra_method_optimizer:build",
)

if not is_method(ZO_SIGN.name):
    register_method(ZO_SIGN)
