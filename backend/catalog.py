"""What a PoC may be made of: the models, and its methods' hyperparameters checked against the registry.

No torch here: model dimensions come from a fixed table for the built-ins and from ``config.json`` for a
local folder, so the API can refuse an impossible LOZO rank before anything is queued. The methods
themselves are described once, in ``common.methods``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.errors import Problem
from common.methods import get_method
from common.models import BUILTIN_MODELS as COMMON_BUILTIN_MODELS
from common.models import BuiltinModel
from common.models import builtin as builtin_model


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
    licence: str | None = None
    description: str | None = None
    installed: bool = True  # an optional built-in (Gemma) is listed before it is installed, saying how
    languages: tuple[str, ...] = ()


def _builtin_info(model: BuiltinModel) -> ModelInfo:
    return ModelInfo(
        model.id,
        model.name,
        True,
        model.n_params,
        model.min_layer_dim,
        model.kind,
        licence=model.licence or None,
        description=model.description or None,
        installed=model.installed(),
        languages=model.languages,
    )


def builtin_models() -> list[ModelInfo]:
    """The built-in models (``common.models``), each saying whether it is installed on this machine."""
    return [_builtin_info(m) for m in COMMON_BUILTIN_MODELS]


# A Hugging Face id: "org/name" of letters, digits, '-', '_', '.'.
_HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
# config.json keys holding a model's width / feed-forward size, across architectures.
_WIDTH_KEYS = ("hidden_size", "n_embd", "d_model", "dim")
_FFN_KEYS = ("intermediate_size", "n_inner", "ffn_dim", "hidden_dim", "d_ff")


class UnknownModelError(ValueError):
    """The model is neither built in, nor a folder with config.json under the model roots, nor shaped like
    a Hub id."""


def unknown_model(model: str, roots: Sequence[Path]) -> UnknownModelError:
    """The one answer for every name that is none of the accepted kinds: a folder outside the model roots
    (``/root``, ``~user``, ``../x``) gets exactly the answer of a name that means nothing, so the answer
    tells nothing about the server's files."""
    folders = ", ".join(str(root) for root in roots) or "none configured"
    return UnknownModelError(
        f"unknown model {model[:200]!r}: use a built-in model ({', '.join(m.id for m in COMMON_BUILTIN_MODELS)}), "
        "a Hugging Face id "
        f"such as 'org/name', or a folder with config.json under the server's model folders ({folders})"
    )


def local_model_folder(model: str, roots: Sequence[Path]) -> Path | None:
    """The folder ``model`` names when it is an absolute path inside one of ``roots`` (symbolic links
    resolved, no ``..``, no ``~``), else None. Nothing outside the roots is ever looked at."""
    if not model.startswith("/") or "~" in model or ".." in Path(model).parts or "\x00" in model:
        return None
    try:
        folder = Path(model).resolve()
        for root in roots:
            base = Path(root).resolve()
            if folder != base and folder.is_relative_to(base):
                return folder
    except (OSError, ValueError):  # a name too long for the file system, a broken link loop
        return None
    return None


def is_hub_id(model: str) -> bool:
    """True for a name shaped like a Hugging Face id ("org/name"): never looked up on this machine's disk."""
    return bool(_HF_ID.match(model))


def resolve_model(model: str, roots: Sequence[Path] = ()) -> ModelInfo:
    """Check ``model`` without loading it; raise UnknownModelError with a message for a person.

    Local folders count only under ``roots`` (``Settings.model_roots``); a name shaped like a Hub id is a
    Hub id, never a path relative to some process's working folder.
    """
    model = model.strip()
    builtin = builtin_model(model)
    if builtin is not None:
        if not builtin.installed():
            raise UnknownModelError(
                f"{builtin.name} is not installed on this server: an administrator installs "
                "it with scripts/setup.sh --with-gemma (its licence: "
                f"{builtin.licence})"
            )
        return _builtin_info(builtin)
    if is_hub_id(model):
        return ModelInfo(model, model, False, None, _cached_hub_dim(model), None)
    folder = local_model_folder(model, roots)
    if folder is None:
        raise unknown_model(model, roots)
    try:
        if not folder.is_dir():
            raise UnknownModelError(f"unknown model {model!r}: no such folder under the model folders")
        config_file = folder / "config.json"
        if not config_file.is_file():
            raise UnknownModelError(f"unknown model {model!r}: the folder has no config.json")
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        if isinstance(exc, UnknownModelError):
            raise
        raise UnknownModelError(f"unknown model {model!r}: its config.json cannot be read as JSON") from exc
    if not isinstance(config, dict):
        raise UnknownModelError(f"unknown model {model!r}: its config.json is not a JSON object")
    return ModelInfo(model, folder.name, False, None, _min_layer_dim(config), None)


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


# --- method hyperparameters -------------------------------------------------------------------------


def resolve_hyperparams(
    method: str, given: dict[str, Any], model: ModelInfo
) -> tuple[dict[str, Any], list[Problem]]:
    """The method's defaults (``common.methods``) overlaid with ``given`` (None = default), plus every problem.

    Problems: a parameter the method does not take, a value out of its range, a rank above the model's
    smallest layer dimension. Field names are ``methods[i].<param>``-ready (the caller adds the prefix).
    """
    info = get_method(method)
    problems: list[Problem] = []
    resolved = dict(info.defaults)
    for key, value in given.items():
        if value is None:
            continue
        spec = info.hyperparameter(key)
        if spec is None:
            problems.append(Problem(key, f"{info.label} takes no parameter {key!r}"))
            continue
        if not spec.low <= value <= spec.high:
            text = f"{value:g} is out of range for {info.label}: allowed {spec.low:g} to {spec.high:g}"
            problems.append(Problem(key, text))
            continue
        resolved[key] = int(value) if spec.integer else float(value)
    rank = resolved.get("rank")
    if rank is not None and model.min_layer_dim is not None and rank > model.min_layer_dim:
        problems.append(
            Problem(
                "rank",
                f"rank {rank} is larger than the smallest layer dimension "
                f"({model.min_layer_dim}) of {model.id}",
            )
        )
    return resolved, problems
