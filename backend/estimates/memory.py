"""Memory forecast per optimizer: how many bytes a fine-tune needs, before anything runs.

The arithmetic follows ZO-SPEC.md "Memory arithmetic". Every term is bytes, for one model copy of
``n_params`` parameters in a dtype of ``b`` bytes (4 for float32, 2 for float16/bfloat16):

* weights            P·b                        every method holds one copy of the weights.
* gradients          P·b                        AdamW and SGD only: backprop fills ``p.grad`` for every parameter.
* optimizer_states   2·P·b (AdamW)              AdamW keeps two moments per parameter (torch keeps them in the
                                                parameter's dtype): fp32 AdamW = 4+4+8 = 16 bytes per parameter.
                     (Σm·r + P₁)·b (LOZO-M)     LOZO-M keeps an m×r momentum of U per matrix, full-size for 1-D.
* low_rank_factors   Σn·r·b (LOZO, LOZO-M)      V (n×r) per matrix, stored for ν steps (lazy sampling).
* noise              max|θᵢ|·b (MeZO)           MeZO regenerates z one tensor at a time: the biggest tensor's z.
                     max m·r·b (LOZO)           LOZO regenerates U (m×r) per matrix and adds UVᵀ in place.
* activations        forward peak (inference, ZO: nothing is kept for backward, one layer lives at a time) or,
                     for backprop, every layer's saved tensors plus one layer of backward workspace.
* runtime            on CPU the engine measures the peak RSS of its child process, which also holds the
                     Python interpreter, torch, transformers, the tokenizer and the data: a fixed baseline
                     measured on this machine (``CPU_RUNTIME_BYTES``). On CUDA the engine reports
                     ``torch.cuda.max_memory_allocated()``, which excludes the CUDA context: runtime = 0
                     (nvidia-smi shows ~0.3-0.5 GB more; the estimate does not claim that part).

Activation counts (elements per transformer layer, T = batch·seq tokens, h hidden, I intermediate, a heads,
s sequence length) follow the per-layer accounting of Korthikanti et al. 2022 ("Reducing Activation
Recomputation in Large Transformer Models"), written for our dtype instead of their fp16 bytes:
saved for backward = 8·T·h (block input, Q, K, V, context, attention output, two norm inputs)
+ 2·T·I (fc1 output, activation output) + 2·a·s²·batch (softmax output and its dropout).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.estimates.shapes import ModelShape

METHODS = ("inference", "mezo", "lozo", "lozo_m", "adamw", "sgd")
ZO_METHODS = ("mezo", "lozo", "lozo_m")
BACKPROP_METHODS = ("adamw", "sgd")
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
TERMS = ("weights", "gradients", "optimizer_states", "low_rank_factors", "noise", "activations", "runtime")

# Peak RSS of the engine's child process minus what the terms above explain, measured for MiniLM-L6 on this
# project's CPU machines (benchmarks/memory_model.py, "inference" row): the interpreter, torch and
# transformers libraries, tokenizer and data. It does not grow with the model.
CPU_RUNTIME_BYTES = 350 * 2**20
# Logits are computed in the model dtype and upcast to float32 for the loss: both copies live at once.
LOGIT_COPIES = 2


@dataclass(frozen=True)
class Workload:
    """The settings the memory depends on besides the model and the method."""

    dtype: str = "float32"
    batch_size: int = 16
    seq_len: int = 64
    rank: int = 2  # LOZO's r
    device_kind: str = "cuda"  # "cpu" adds the process runtime baseline (peak RSS), "cuda" does not

    def __post_init__(self):
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype {self.dtype!r}; expected one of {sorted(DTYPE_BYTES)}")
        if self.batch_size < 1 or self.seq_len < 1 or self.rank < 1:
            raise ValueError("batch_size, seq_len and rank must be at least 1")
        if self.device_kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device kind {self.device_kind!r}; expected 'cpu' or 'cuda'")


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per term for one method; ``total`` is their sum."""

    method: str
    bytes: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.bytes["total"]

    @property
    def total_gb(self) -> float:
        return self.total / 1e9


def layer_activation_elements(shape: ModelShape, work: Workload) -> tuple[int, int]:
    """(elements saved for backward by one layer, elements alive at the peak of one layer's forward)."""
    tokens = work.batch_size * work.seq_len
    h, inter, heads = shape.hidden_size, shape.intermediate_size, shape.n_heads
    scores = heads * work.seq_len * work.seq_len * work.batch_size  # one attention-probability tensor
    saved = 8 * tokens * h + 2 * tokens * inter + 2 * scores
    # Forward without autograd: in attention the residual stream, Q, K, V, the context and scores+probs live
    # together; in the MLP the input, fc1 and activation outputs and the block output. Whichever is larger.
    peak = max(5 * tokens * h + 2 * scores, 2 * tokens * h + 2 * tokens * inter)
    return saved, peak


def activation_bytes(shape: ModelShape, work: Workload, backprop: bool) -> int:
    """Activation bytes: the forward peak (no graph kept) or everything saved for backward."""
    b = DTYPE_BYTES[work.dtype]
    tokens = work.batch_size * work.seq_len
    saved, peak = layer_activation_elements(shape, work)
    logits = LOGIT_COPIES * tokens * shape.vocab_size * 4 if shape.lm_head else 0
    embeddings = 2 * tokens * shape.hidden_size  # embedding sum and its normalised output
    if backprop:
        # every layer's saved tensors + one layer of gradient workspace while backward walks the stack
        return (shape.n_layers * saved + saved + embeddings) * b + logits
    return (peak + embeddings) * b + logits


def estimate(shape: ModelShape, method: str, work: Workload) -> MemoryEstimate:
    """Bytes of each memory term for ``method`` (one of ``METHODS``) on ``shape`` under ``work``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {list(METHODS)}")
    b = DTYPE_BYTES[work.dtype]
    p, r = shape.n_params, work.rank
    terms = dict.fromkeys(TERMS, 0)
    terms["weights"] = p * b
    if method in BACKPROP_METHODS:
        terms["gradients"] = p * b
    if method == "adamw":
        terms["optimizer_states"] = 2 * p * b
    if method == "lozo_m":
        terms["optimizer_states"] = (shape.matrix_rows * r + shape.vector_params) * b
    if method in ("lozo", "lozo_m"):
        terms["low_rank_factors"] = shape.matrix_cols * r * b
        terms["noise"] = shape.largest_rows * r * b
    if method == "mezo":
        terms["noise"] = shape.largest_tensor * b
    terms["activations"] = activation_bytes(shape, work, backprop=method in BACKPROP_METHODS)
    terms["runtime"] = CPU_RUNTIME_BYTES if work.device_kind == "cpu" else 0
    terms["total"] = sum(terms[t] for t in TERMS)
    return MemoryEstimate(method=method, bytes=terms)


def estimate_all(shape: ModelShape, methods, work: Workload) -> list[MemoryEstimate]:
    """``estimate`` for each method, in the order given."""
    return [estimate(shape, m, work) for m in methods]
