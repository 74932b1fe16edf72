"""RunSpec and RunSettings: every field defined once, validated, and its limits readable by forms."""

import json

import pytest

from common.methods import get_method
from common.runspec import RunSettings, RunSpec, field_limits, run_settings_fields


def test_defaults_come_from_the_method_registry():
    spec = RunSpec(method="lozo")
    lozo = get_method("lozo")
    assert (spec.zo_eps, spec.rank, spec.nu) == (
        lozo.defaults["zo_eps"],
        lozo.defaults["rank"],
        lozo.defaults["nu"],
    )
    assert get_method("lozo_m").defaults["beta"] == spec.beta
    assert spec.zeroth_order and not RunSpec(method="adamw").zeroth_order


def test_every_problem_is_named_with_its_field():
    with pytest.raises(ValueError) as caught:
        RunSpec.from_dict({"method": "adam", "stepz": 3, "zo_eps": 0, "batch_size": 0})
    text = str(caught.value)
    assert text.startswith("invalid run spec: ")
    for expected in (
        "method: unknown method 'adam'",
        "stepz: Extra inputs are not permitted",
        "zo_eps: Input should be greater than 0",
        "batch_size: Input should be greater than",
    ):
        assert expected in text


def test_a_spec_round_trips_through_json(tmp_path):
    spec = RunSpec(method="mezo", steps=None, max_minutes=2.5, dtype="bfloat16", eval_size=40)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec.to_dict()))
    assert RunSpec.from_file(path) == spec


def test_run_settings_are_the_part_of_the_spec_a_poc_fixes():
    assert set(run_settings_fields()) <= set(RunSpec.model_fields)
    assert {"steps", "eval_size", "max_length", "dtype", "head_init", "k_shot"} <= set(run_settings_fields())
    assert "method" not in run_settings_fields() and "lr" not in run_settings_fields()


def test_field_limits_read_the_fields_themselves():
    limits = field_limits(RunSettings)
    steps = limits["steps"]
    assert steps["type"] == "integer" and steps["nullable"] and steps["default"] == 100
    assert steps["minimum"] == RunSettings.model_fields["steps"].metadata[0].ge
    assert limits["max_minutes"]["exclusive_minimum"] is True
    assert limits["dtype"]["choices"] == ["float32", "bfloat16", "float16"]
    assert limits["dtype"]["type"] == "string" and not limits["dtype"]["nullable"]
    # a value the limits allow is accepted, one beyond them refused
    top = limits["batch_size"]["maximum"]
    RunSettings(batch_size=top)
    with pytest.raises(ValueError):
        RunSettings(batch_size=top + 1)


# --- generation settings ---------------------------------------------------------------------------------


def test_generation_settings_default_to_classification():
    spec = RunSpec.from_dict({"method": "lozo"})
    assert (spec.task_type, spec.max_new_tokens, spec.zo_objective) == ("classification", 24, "loss")


def test_generation_needs_a_decoder():
    assert RunSpec.from_dict({"method": "lozo", "model": "tiny-gpt2", "task_type": "generation"})
    for encoder in ("minilm", "tiny-bert"):
        with pytest.raises(ValueError, match="decoder"):
            RunSpec.from_dict({"method": "lozo", "model": encoder, "task_type": "generation"})


def test_max_new_tokens_bounds():
    for bad in (0, 513):
        with pytest.raises(ValueError, match="max_new_tokens"):
            RunSpec.from_dict({"method": "lozo", "model": "tiny-gpt2", "max_new_tokens": bad})


def test_metric_objective_only_for_zeroth_order_generation():
    gen = {"model": "tiny-gpt2", "task_type": "generation", "zo_objective": "neg_f1"}
    assert RunSpec.from_dict({"method": "mezo", **gen}).zo_objective == "neg_f1"
    with pytest.raises(ValueError, match="zeroth-order methods"):
        RunSpec.from_dict({"method": "adamw", **gen})
    with pytest.raises(ValueError, match="task_type 'generation'"):
        RunSpec.from_dict({"method": "lozo", "model": "tiny-gpt2", "zo_objective": "neg_f1"})
