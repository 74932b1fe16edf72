"""The method registry: built-ins, lookups, and a registered method appearing everywhere that reads it."""

import pytest

from common.methods import (
    BASELINE_METHOD,
    DEFAULT_METHODS,
    Hyperparameter,
    MethodInfo,
    UnknownMethodError,
    all_methods,
    get_method,
    method_color,
    method_names,
    register_method,
    registered,
    zeroth_order_names,
)

EXTRA = MethodInfo(
    "zo_sign",
    "ZO-SignSGD",
    "zeroth_order",
    "sign of the projected gradient",
    color="#123456",
    order=35,
    hyperparameters=(Hyperparameter("lr", 1e-5, 1e-9, 1e-2),),
    step_cost_forwards=2.0,
)


def test_builtins_in_display_order_with_distinct_colours():
    assert method_names() == ("lozo", "adamw", "lora", "lozo_m", "mezo", "sgd")
    assert zeroth_order_names()[0] == "lozo"
    colours = [m.color for m in all_methods()]
    assert len(set(colours)) == len(colours)
    assert set(DEFAULT_METHODS) <= set(method_names()) and BASELINE_METHOD in method_names()
    assert get_method(BASELINE_METHOD).kind == "first_order"


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(UnknownMethodError, match="choose one of lozo, adamw"):
        get_method("adam")
    assert method_color("adam") == "#555555"


def test_a_registered_method_is_listed_in_its_order_and_gone_afterwards():
    with registered(EXTRA):
        assert method_names() == ("lozo", "adamw", "lora", "lozo_m", "zo_sign", "mezo", "sgd")
        assert get_method("zo_sign").forward_passes_per_step == 2
        assert method_color("zo_sign") == "#123456"
        with pytest.raises(ValueError, match="already registered"):
            register_method(EXTRA)
    assert "zo_sign" not in method_names()


def test_a_colour_must_be_a_hex_triplet():
    bad = MethodInfo(
        "bad", "Bad", "first_order", "", color="red", order=1, hyperparameters=(), step_cost_forwards=3.0
    )
    with pytest.raises(ValueError, match="#rrggbb"):
        register_method(bad)


def test_a_plug_in_method_is_trainable_through_the_optimizer_its_entry_names():
    import subprocess
    import sys

    # In a fresh process: registering the method imports no torch; building its optimizer imports the
    # module its entry names.
    code = (
        "import sys; import tests.support.extra_method; print('torch' in sys.modules); "
        "from worker.train.optimizers import optimizer_factory, trainable_methods; "
        "print('zo_sign' in trainable_methods()); import torch; "
        "from common.runspec import RunSpec; "
        "p = torch.nn.Parameter(torch.ones(3)); "
        "opt = optimizer_factory('zo_sign')([p], RunSpec(method='zo_sign'), 0.1); print(type(opt).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "ZOSign"]
