"""Memory forecast per optimizer: how many bytes a fine-tune needs, before anything runs.

The arithmetic follows ZO-SPEC.md "Memory arithmetic". Every term is bytes, for one model copy of
``n_params`` parameters in a dtype of ``b`` bytes (4 for float32, 2 for float16/bfloat16):

* weights            P·b                        every method holds one copy of the weights.
* gradients          P·b                        AdamW and SGD only: backprop fills ``p.grad`` for every parameter.
* optimizer_states   2·P·b (AdamW)              AdamW keeps two moments per parameter (torch keeps them in the
                                                parameter's dtype): fp32 AdamW = 4+4+8 = 16 bytes per parameter.
                     (Σm·r + P₁)·b (LOZO-M)     LOZO-M keeps an m×r momentum of U per matrix, full-size for 1-D.
                     The recipe of a backprop method changes this term (``RECIPES``): "mixed" (mixed
                     precision, as the Trainer's bf16 option and most teams run it) keeps fp32 master weights
                     and fp32 moments beside 16-bit weights and gradients: 2+2+4+8 = 16 bytes per parameter,
                     with a fused update (no workspace); "8bit" keeps the moments in 8 bits (bitsandbytes'
                     AdamW8bit, 1+1 bytes, updated in place, no master); "pure" keeps them in the weights'
                     dtype (torch's default for a bf16 model: 2+2+4+2 workspace = 10 bytes per parameter).
                     LoRA counts all of these for its adapters only (r·Σ(n_in + n_out) parameters).
* low_rank_factors   Σn·r·b (LOZO, LOZO-M)      V (n×r) per matrix, stored for ν steps (lazy sampling).
* noise              max|θᵢ|·b (MeZO, CUDA)     MeZO regenerates z one tensor at a time: the biggest tensor's z
                                                (the engine draws it whole into a reused buffer on CUDA; on CPU
                                                it fills 32K-element chunks straight into θ: ≈ 0).
                     Σm·r·b (LOZO)              LOZO draws U (m×r) per matrix and adds UVᵀ in place; the engine
                                                keeps the step's U factors until the update (small: no m×n).
* step_workspace     P·b (AdamW)                torch's multi-tensor (foreach) AdamW builds full-size
                                                intermediates (e.g. the square root of the second moment) while
                                                it updates: measured here as one more parameter-sized copy.
* activations        forward peak (inference, ZO: nothing is kept for backward, one layer lives at a time) or,
                     for backprop, every layer's saved tensors plus one layer of backward workspace; the
                     evaluation pass (engine default: 64 examples a batch, no graph) counts when it is larger.
                     Every batch is assumed padded to ``seq_len`` (the engine pads to the longest text of a
                     batch, so short texts use less: the estimate is the worst case of the setting).
* kv_cache           2·L·B·(s + g)·w·b          generation PoCs only: greedy generation at evaluation keeps the keys
                                                and values of every layer L for the evaluation batch B, the prompt
                                                and the g new tokens (s + g positions), w = K/V width per token
                                                (grouped-query attention caches fewer heads than it attends with).
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
Forward without a graph, at its peak inside attention = 10·T·h (input, Q, K, V and their head-major copies,
context, its token-major copy, output) + 2·a·s²·batch (scores, probabilities); inside the MLP
= 3·T·h + 2·T·I; the larger of the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.estimates.shapes import ModelShape
from common.methods import MemoryProfile, get_method, method_names

# How a backprop method keeps its optimizer (see the module docstring); ZO methods have no recipe.
RECIPES = ("pure", "mixed", "8bit")
RECIPE_STATE_BYTES = {"mixed": 4, "8bit": 1}  # bytes per moment element; "pure": the weights' dtype
# Forward passes only, nothing trained: the floor every method is compared against.
INFERENCE = "inference"
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
TERMS = (
    "weights",
    "gradients",
    "optimizer_states",
    "low_rank_factors",
    "noise",
    "step_workspace",
    "activations",
    "kv_cache",
    "runtime",
)

# The engine's child process right after loading MiniLM-L6 on CPU holds ~450 MiB (its `baseline_rss_mb`,
# measured here, benchmarks/RESULTS-memory.md) of which 87 MiB are the weights: the rest is the interpreter,
# torch and transformers, the tokenizer and the data. It does not grow with the model.
CPU_RUNTIME_BYTES = 360 * 2**20
# A LoRA run's process also imports peft (and accelerate with it): +135 MiB of RSS, measured here after
# torch and transformers were loaded. Host memory only: on a GPU it is not device memory.
CPU_PEFT_RUNTIME_BYTES = 135 * 2**20
# On CPU the engine adds MeZO's z in chunks of this many elements (worker/zo/noise.py): no full-size z.
CPU_NOISE_CHUNK = 1 << 15
# Logits are computed in the model dtype and upcast to float32 for the loss: both copies live at once.
LOGIT_COPIES = 2
# With backprop the float32 log-probabilities are saved for backward, and backward adds the gradients of the
# log-probabilities and of the logits: four logit-sized float32 tensors at the peak.
LOGIT_COPIES_BACKPROP = 4


@dataclass(frozen=True)
class Workload:
    """The settings the memory depends on besides the model and the method."""

    dtype: str = "float32"
    batch_size: int = 16
    seq_len: int = 64
    rank: int = 2  # LOZO's r
    lora_rank: int = 8  # LoRA's r (methods with adapters)
    recipe: str = "pure"  # backprop methods' optimizer precision: one of RECIPES
    eval_batch_size: int = 64  # the engine's evaluation batch (no graph kept)
    device_kind: str = "cuda"  # "cpu" adds the process runtime baseline (peak RSS), "cuda" does not
    max_new_tokens: int = 0  # generation PoCs: tokens greedy generation writes at evaluation (0: none)

    def __post_init__(self):
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype {self.dtype!r}; expected one of {sorted(DTYPE_BYTES)}")
        if min(self.batch_size, self.seq_len, self.rank, self.lora_rank, self.eval_batch_size) < 1:
            raise ValueError("batch_size, eval_batch_size, seq_len, rank and lora_rank must be at least 1")
        if self.device_kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device kind {self.device_kind!r}; expected 'cpu' or 'cuda'")
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}; expected one of {list(RECIPES)}")


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


def layer_activation_elements(shape: ModelShape, seq_len: int, batch: int) -> tuple[int, int]:
    """(elements saved for backward by one layer, elements alive at the peak of one layer's forward)."""
    tokens = batch * seq_len
    h, inter, heads = shape.hidden_size, shape.intermediate_size, shape.n_heads
    scores = heads * seq_len * seq_len * batch  # one attention-score tensor
    saved = 8 * tokens * h + 2 * tokens * inter + 2 * scores
    peak = max(10 * tokens * h + 2 * scores, 3 * tokens * h + 2 * tokens * inter)
    return saved, peak


def _forward_peak_bytes(shape: ModelShape, work: Workload, batch: int) -> int:
    tokens = batch * work.seq_len
    _, peak = layer_activation_elements(shape, work.seq_len, batch)
    embeddings = 2 * tokens * shape.hidden_size  # embedding sum and its normalised output
    logits = LOGIT_COPIES * tokens * shape.vocab_size * 4 if shape.lm_head else 0
    return (peak + embeddings) * DTYPE_BYTES[work.dtype] + logits


def activation_bytes(shape: ModelShape, work: Workload, backprop: bool) -> int:
    """Activation bytes at the run's peak: training step or evaluation pass, whichever is larger."""
    evaluation = _forward_peak_bytes(shape, work, work.eval_batch_size)
    if not backprop:  # ZO and inference: forward passes only, at the training or the evaluation batch
        return max(_forward_peak_bytes(shape, work, work.batch_size), evaluation)
    tokens = work.batch_size * work.seq_len
    saved, _ = layer_activation_elements(shape, work.seq_len, work.batch_size)
    logits = LOGIT_COPIES_BACKPROP * tokens * shape.vocab_size * 4 if shape.lm_head else 0
    # every layer's saved tensors + one layer of gradient workspace while backward walks the stack
    training = (shape.n_layers * saved + saved + 2 * tokens * shape.hidden_size) * DTYPE_BYTES[
        work.dtype
    ] + logits
    return max(training, evaluation)


def kv_cache_bytes(shape: ModelShape, work: Workload) -> int:
    """Keys and values greedy generation caches at evaluation (generation PoCs on a decoder; else 0)."""
    if not work.max_new_tokens or not shape.lm_head:
        return 0
    positions = work.seq_len + work.max_new_tokens
    return 2 * shape.n_layers * work.eval_batch_size * positions * shape.kv_width * DTYPE_BYTES[work.dtype]


def estimable_methods() -> tuple[str, ...]:
    """``inference`` and every registered method."""
    return (INFERENCE, *method_names())


def memory_profile(method: str) -> MemoryProfile:
    """What ``method`` keeps beside the weights (the registry's profile; inference keeps nothing)."""
    return MemoryProfile() if method == INFERENCE else get_method(method).memory


def estimate(shape: ModelShape, method: str, work: Workload) -> MemoryEstimate:
    """Bytes of each memory term for ``method`` (``inference`` or a registered method) on ``shape``."""
    if method not in estimable_methods():
        raise ValueError(f"unknown method {method!r}; expected one of {list(estimable_methods())}")
    profile = memory_profile(method)
    b = DTYPE_BYTES[work.dtype]
    p, r = shape.n_params, work.rank
    terms = dict.fromkeys(TERMS, 0)
    # what backprop trains: every weight, or only the LoRA adapters beside the frozen weights
    trained = work.lora_rank * shape.linear_dims if profile.lora_adapters else p
    terms["weights"] = (p + trained if profile.lora_adapters else p) * b
    if profile.backprop:
        terms["gradients"] = trained * b
    terms["optimizer_states"], workspace_bytes = _optimizer_state_bytes(profile, trained, b, work.recipe)
    if profile.low_rank_momentum:
        terms["optimizer_states"] += (shape.matrix_rows * r + shape.vector_params) * b
    if profile.low_rank_factors:
        terms["low_rank_factors"] = shape.matrix_cols * r * b
        terms["noise"] = shape.matrix_rows * r * b
    if profile.full_noise:
        terms["noise"] = (shape.largest_tensor if work.device_kind == "cuda" else CPU_NOISE_CHUNK) * b
    terms["step_workspace"] = round(profile.step_workspace_copies * trained * workspace_bytes)
    terms["activations"] = activation_bytes(shape, work, backprop=profile.backprop)
    terms["kv_cache"] = kv_cache_bytes(shape, work)
    terms["runtime"] = 0
    if work.device_kind == "cpu":
        terms["runtime"] = CPU_RUNTIME_BYTES + (CPU_PEFT_RUNTIME_BYTES if profile.lora_adapters else 0)
    terms["total"] = sum(terms[t] for t in TERMS)
    return MemoryEstimate(method=method, bytes=terms)


def _optimizer_state_bytes(profile: MemoryProfile, trained: int, b: int, recipe: str) -> tuple[int, int]:
    """(bytes of the optimizer's full-size state, bytes per element of its step workspace) for ``recipe``.

    A recipe only matters where there are moments and the weights are 16-bit; fp32 weights have no master."""
    copies = profile.optimizer_state_copies
    if not copies or recipe == "pure" or (recipe == "mixed" and b >= 4):
        return round(copies * trained * b), b
    master = trained * 4 if recipe == "mixed" else 0
    return round(copies * trained * RECIPE_STATE_BYTES[recipe]) + master, 0


def estimate_all(shape: ModelShape, methods, work: Workload) -> list[MemoryEstimate]:
    """``estimate`` for each method, in the order given."""
    return [estimate(shape, m, work) for m in methods]
