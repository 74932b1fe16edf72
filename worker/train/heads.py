"""The shared start of a comparison: the classifier head, and learning-rate defaults that fit the model.

The papers' ZO runs start from a prompt-based zero-shot accuracy far above chance; a random head leaves ZO
nothing to climb in a PoC budget. Every method of a comparison gets the same deterministic head from here.
"""

from __future__ import annotations

import math

import torch

from common.methods import get_method
from common.models import builtin as builtin_model
from worker.train.models import EncoderClassifier, LoadedModel

HEAD_INITS = ("prototype", "label_words", "random")
# Measured on MiniLM (ZO-SPEC.md and centroid_head): unit prototypes scaled by 2 on the unnormalised pooled
# features (norm ≈ 5) leave a training loss of ~0.25 to learn from; a scale of 10+ leaves almost none.
PROTOTYPE_SCALE = 2.0


def _encoder_of(loaded: LoadedModel) -> EncoderClassifier:
    if not isinstance(loaded.model, EncoderClassifier):
        raise TypeError(f"{loaded.name} is read through a prompt: it has no pooled features or linear head")
    return loaded.model


@torch.inference_mode()
def pooled_features(loaded: LoadedModel, texts: list[str], batch_size: int = 32) -> torch.Tensor:
    """Mean-pooled encoder features (float32) of `texts`, in order."""
    out = []
    for start in range(0, len(texts), batch_size):
        enc = loaded.encode(texts[start : start + batch_size])
        out.append(_encoder_of(loaded).pooled(**enc).float().cpu())
    return torch.cat(out)


def centroid_head(centroids: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and bias of a prototype head: row c = scale·μ_c/|μ_c|, bias 0 (features left unnormalised).

    Measured on MiniLM, SST-2 k=16, seeds 0-4: this start gives 60-69% dev accuracy and a training loss of
    0.22-0.32 at scale 2, leaving ZO a loss to lower; a nearest-centroid head (with bias −|μ_c|²/2) or
    unnormalised rows gave similar accuracy but training losses of 0.08-0.29 (less headroom).
    """
    weight = scale * torch.nn.functional.normalize(centroids, dim=1)
    return weight, torch.zeros(centroids.shape[0])


def init_head(
    loaded: LoadedModel,
    train_texts: list[str],
    train_labels: list[int],
    label_words: list[str],
    mode: str = "prototype",
    seed: int = 0,
    scale: float = PROTOTYPE_SCALE,
) -> str:
    """Set the head of an encoder classifier in place; returns the mode actually used.

    - "prototype": unit class centroids of the training examples' pooled features (see centroid_head),
    - "label_words": centroids replaced by the pooled features of the label words themselves (zero-shot),
    - "random": a freshly drawn head from `seed` (for reference: about chance at step 0).
    Prompt-based models (decoders, masked LMs) read their LM head at the label words: they always report
    "label_words" and nothing is changed.
    """
    if mode not in HEAD_INITS:
        raise ValueError(f"unknown head_init {mode!r}; choose one of {HEAD_INITS}")
    if not isinstance(loaded.model, EncoderClassifier):
        return "label_words"
    head = loaded.model.head
    n_classes = head.weight.shape[0]
    with torch.no_grad():
        if mode == "random":
            gen = torch.Generator().manual_seed(seed)
            bound = 1.0 / math.sqrt(head.weight.shape[1])
            head.weight.copy_(torch.empty(head.weight.shape).uniform_(-bound, bound, generator=gen))
            head.bias.copy_(torch.empty(head.bias.shape).uniform_(-bound, bound, generator=gen))
            return mode
        if mode == "label_words":
            centroids = pooled_features(loaded, label_words)
        else:
            feats = pooled_features(loaded, train_texts)
            labels = torch.tensor(train_labels)
            centroids = torch.stack(
                [
                    feats[labels == c].mean(0) if (labels == c).any() else torch.zeros(feats.shape[1])
                    for c in range(n_classes)
                ]
            )
        weight, bias = centroid_head(centroids, scale)
        head.weight.copy_(weight.to(head.weight.dtype))
        head.bias.copy_(bias.to(head.bias.dtype))
    return mode


# --- learning rates ------------------------------------------------------------------------------------

# (n_params, lr) anchors for ZO methods (code convention, no 1/r), log-log interpolated, clamped at the ends:
# 22.7M: 1e-4 measured here (1e-5 barely moves, 3e-4 diverges); 350M: 1e-6 (MeZO, RoBERTa-large);
# 13B: 1e-7 (MeZO/LOZO, OPT-13B).
ZO_LR_ANCHORS = ((2.27e7, 1e-4), (3.5e8, 1e-6), (1.3e10, 1e-7))


def default_lr(method: str, n_params: int) -> float:
    """The learning rate a run uses when the user gives none.

    ZO methods: interpolated in log-log space between measured/published anchors (ZO_LR_ANCHORS), since the
    step a ZO estimate can take shrinks as the number of perturbed parameters grows. First-order methods:
    the registry's ``default_lr`` (AdamW 1e-5 works here and in both papers' fine-tuning baselines for
    350M-13B models; SGD 1e-3 is a guess: use --lr-probe).
    """
    info = get_method(method)
    if not info.zeroth_order:
        if info.default_lr is None:
            raise ValueError(f"{info.label} has no default learning rate; give one")
        return info.default_lr
    (n0, lr0), *_ = ZO_LR_ANCHORS
    if n_params <= n0:
        return lr0
    for (na, la), (nb, lb) in zip(ZO_LR_ANCHORS, ZO_LR_ANCHORS[1:]):
        if n_params <= nb:
            t = (math.log(n_params) - math.log(na)) / (math.log(nb) - math.log(na))
            return float(f"{math.exp(math.log(la) + t * (math.log(lb) - math.log(la))):.2g}")
    return ZO_LR_ANCHORS[-1][1]


def default_lr_for_model(model: str, method: str, n_params: int) -> tuple[float, str]:
    """(lr, lr_source) for a run without a user lr: a built-in model's measured ZO rate where it has one
    ("default-for-model"), else the size rule ("default-by-size")."""
    known = builtin_model(model)
    if known is not None and known.zo_lr is not None and get_method(method).zeroth_order:
        return known.zo_lr, "default-for-model"
    return default_lr(method, n_params), "default-by-size"


def probe_candidates(lr: float) -> list[float]:
    """Learning rates an --lr-probe tries around the default: ÷10, ÷3, ×1, ×3."""
    return [float(f"{lr * f:.2g}") for f in (0.1, 0.3, 1.0, 3.0)]
