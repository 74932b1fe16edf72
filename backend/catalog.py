"""What a PoC may be made of: the built-in models and the optimisation methods with defaults and ranges.

No torch here: model dimensions come from a fixed table for the built-ins and from ``config.json`` for a
local folder, so the API can refuse an impossible LOZO rank before anything is queued.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelInfo:
    """A model the engine can load, with the dimension that caps the LOZO rank."""

    id: str
    name: str
    builtin: bool
    n_params: int | None
    # The smallest dimension of the transformer's weight matrices (hidden size for these architectures);
    # a rank above it cannot be a low-rank perturbation of every layer. None: unknown (remote id).
    min_layer_dim: int | None
    kind: str | None = None  # "encoder" | "decoder"


BUILTIN_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo("minilm", "MiniLM-L6 (embedded)", True, 22_713_216, 384, "encoder"),
    ModelInfo("tiny-bert", "Tiny BERT (random weights, for tests)", True, None, 32, "encoder"),
    ModelInfo("tiny-gpt2", "Tiny GPT-2 (random weights, for tests)", True, None, 32, "decoder"),
)
_BUILTIN_BY_ID = {m.id: m for m in BUILTIN_MODELS}

# A Hugging Face id: "org/name" of letters, digits, '-', '_', '.'.
_HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
# config.json keys holding a model's width / feed-forward size, across architectures.
_WIDTH_KEYS = ("hidden_size", "n_embd", "d_model", "dim")
_FFN_KEYS = ("intermediate_size", "n_inner", "ffn_dim", "hidden_dim", "d_ff")


class UnknownModelError(ValueError):
    """The model is neither built in, nor a local folder with config.json, nor shaped like a Hub id."""


def resolve_model(model: str) -> ModelInfo:
    """Check ``model`` without loading it; raise UnknownModelError with a message for a person."""
    model = model.strip()
    if model in _BUILTIN_BY_ID:
        return _BUILTIN_BY_ID[model]
    path = Path(model).expanduser()
    if model.startswith(("/", ".", "~")) or path.is_dir():
        if not path.is_dir():
            raise UnknownModelError(f"unknown model {model!r}: no such folder on the server")
        config_file = path / "config.json"
        if not config_file.is_file():
            raise UnknownModelError(f"unknown model {model!r}: the folder has no config.json")
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UnknownModelError(f"unknown model {model!r}: config.json is unreadable ({exc})") from exc
        return ModelInfo(model, path.name, False, None, _min_layer_dim(config), None)
    if _HF_ID.match(model):
        return ModelInfo(model, model, False, None, _cached_hub_dim(model), None)
    raise UnknownModelError(
        f"unknown model {model!r}: use a built-in model ({', '.join(_BUILTIN_BY_ID)}), "
        "a Hugging Face id such as 'org/name', or a folder on the server that holds config.json"
    )


def _cached_hub_dim(repo_id: str) -> int | None:
    """The smallest layer dimension from a config.json already in the local Hugging Face cache (no network:
    the API never downloads); None when the model was never fetched on this machine."""
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json")
        if not isinstance(cached, str):
            return None
        return _min_layer_dim(json.loads(Path(cached).read_text(encoding="utf-8")))
    except (ImportError, OSError, ValueError):
        return None


def _min_layer_dim(config: dict[str, Any]) -> int | None:
    dims = [config[k] for k in (*_WIDTH_KEYS, *_FFN_KEYS) if isinstance(config.get(k), int) and config[k] > 0]
    return min(dims) if dims else None


# --- methods ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MethodInfo:
    """An optimiser a PoC can run, with its defaults and the ranges the API accepts."""

    method: str
    label: str
    zeroth_order: bool
    defaults: dict[str, Any]
    ranges: dict[str, tuple[float, float]]
    description: str = ""
    params: tuple[str, ...] = field(default=())


# lr None = the engine picks the method's default for the model size (reported in its `started` event).
_ZO_DEFAULTS = {"lr": None, "zo_eps": 1e-3, "weight_decay": 0.0}
_ZO_RANGES = {"lr": (1e-9, 1e-2), "zo_eps": (1e-6, 1e-1), "weight_decay": (0.0, 0.1)}
_LOWRANK_DEFAULTS = {"rank": 2, "nu": 50}
_LOWRANK_RANGES = {"rank": (1, 64), "nu": (1, 100_000)}

METHODS: tuple[MethodInfo, ...] = (
    MethodInfo("lozo", "LOZO", True, {**_ZO_DEFAULTS, **_LOWRANK_DEFAULTS}, {**_ZO_RANGES, **_LOWRANK_RANGES},
               "low-rank zeroth-order SGD (Chen et al., ICLR 2025): forward passes only"),
    MethodInfo("lozo_m", "LOZO-M", True, {**_ZO_DEFAULTS, **_LOWRANK_DEFAULTS, "beta": 0.9},
               {**_ZO_RANGES, **_LOWRANK_RANGES, "beta": (0.0, 0.999)},
               "LOZO with momentum kept in the low-rank subspace"),
    MethodInfo("mezo", "MeZO", True, dict(_ZO_DEFAULTS), dict(_ZO_RANGES),
               "zeroth-order SGD with full-rank Gaussian noise (Malladi et al., NeurIPS 2023)"),
    MethodInfo("adamw", "AdamW", False, {"lr": None, "weight_decay": 0.0},
               {"lr": (1e-8, 1e-1), "weight_decay": (0.0, 0.1)}, "backpropagation with AdamW (the baseline)"),
    MethodInfo("sgd", "SGD", False, {"lr": None, "weight_decay": 0.0},
               {"lr": (1e-8, 1.0), "weight_decay": (0.0, 0.1)}, "backpropagation with plain SGD"),
)
METHODS_BY_NAME = {m.method: m for m in METHODS}
DEFAULT_METHODS = ("lozo", "adamw")
# Integer hyperparameters (the rest are floats).
INT_PARAMS = frozenset({"rank", "nu"})


@dataclass(frozen=True)
class Problem:
    field: str
    problem: str


def resolve_hyperparams(method: str, given: dict[str, Any],
                        model: ModelInfo) -> tuple[dict[str, Any], list[Problem]]:
    """The method's defaults overlaid with ``given`` (None = default), plus every problem found.

    Problems: a parameter the method does not take, a value out of its range, a rank above the model's
    smallest layer dimension. Field names are ``methods[i].<param>``-ready (the caller adds the prefix).
    """
    info = METHODS_BY_NAME[method]
    problems: list[Problem] = []
    resolved = dict(info.defaults)
    for key, value in given.items():
        if value is None:
            continue
        if key not in info.defaults:
            problems.append(Problem(key, f"{info.label} takes no parameter {key!r}"))
            continue
        low, high = info.ranges[key]
        if not low <= value <= high:
            text = f"{value:g} is out of range for {info.label}: allowed {low:g} to {high:g}"
            problems.append(Problem(key, text))
            continue
        resolved[key] = int(value) if key in INT_PARAMS else float(value)
    rank = resolved.get("rank")
    if rank is not None and model.min_layer_dim is not None and rank > model.min_layer_dim:
        problems.append(Problem("rank", f"rank {rank} is larger than the smallest layer dimension "
                                        f"({model.min_layer_dim}) of {model.id}"))
    return resolved, problems
