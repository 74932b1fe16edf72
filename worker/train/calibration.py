"""Calibration of a prompt-based classifier's start: a fixed per-class bias, the same for every method.

A pretrained LM read through a template usually prefers one label word whatever the input (SmolLM2 on
SST-2 answers "great" for every dev row: 47.5%). Calibration measures that preference once, at the shared
start and with the start weights, and subtracts it:
- "content_free" (Zhao et al. 2021, "Calibrate before use"): the mean class probabilities p̄ of the
  template filled with inputs that say nothing ("N/A", "", "[MASK]");
- "contextual": p̄ over the run's own training inputs (the label-free mean of the task's inputs, as in
  batch calibration), which centres the start on the data it will train on;
- "none": no bias.
The bias is b = −log p̄ (centred), so that softmax(s + b) ∝ softmax(s) / p̄: the diagonal correction W =
diag(p̄)⁻¹ of Zhao et al. It is a buffer, not a parameter: no optimizer moves it, it is saved with a
checkpoint, and training and evaluation both see it, so every method starts from the same calibrated point.
"""

from __future__ import annotations

import random

import torch

from common.prompts import CONTENT_FREE_TEXTS
from worker.train.models import LoadedModel
from worker.train.prompting import is_prompt_based

CONTEXTUAL_MAX_ROWS = 512  # more rows barely move a mean of probabilities; the start stays cheap
CONTEXTUAL_SEED = 4321


def content_free_examples(pair: bool) -> list:
    return [(t, t) if pair else t for t in CONTENT_FREE_TEXTS]


@torch.inference_mode()
def mean_class_probabilities(loaded: LoadedModel, examples: list, batch_size: int = 32) -> torch.Tensor:
    """p̄: the mean over `examples` of the softmax of the uncalibrated class scores (float32, on CPU)."""
    model = loaded.model
    if not is_prompt_based(model):
        raise TypeError(f"{loaded.name} is not read through a prompt: it has no class scores to calibrate")
    if not examples:
        raise ValueError("calibration needs at least one example")
    total: torch.Tensor | None = None
    for start in range(0, len(examples), batch_size):
        enc = loaded.encode(examples[start : start + batch_size])
        probs = torch.softmax(model.scores(**enc).float(), dim=-1).sum(0).cpu()
        total = probs if total is None else total + probs
    assert total is not None
    return total / len(examples)


def bias_from_probabilities(mean_probs: torch.Tensor) -> torch.Tensor:
    """b = −log p̄, centred (a constant shift changes no softmax)."""
    log_p = torch.log(mean_probs.clamp_min(1e-12))
    return -(log_p - log_p.mean())


def calibrate(loaded: LoadedModel, mode: str, train_examples: list) -> dict:
    """Set the model's class bias for `mode`; returns what was done (for the `started` event).

    Encoders with a linear head are not prompt-based: their head start is the calibration (heads.py), and
    they report "none".
    """
    model = loaded.model
    if not is_prompt_based(model) or mode == "none":
        if is_prompt_based(model):
            model.class_bias.zero_()
        return {"calibration": "none", "class_bias": None}
    if mode == "content_free":
        pair = loaded.prompt is not None and loaded.prompt.kind == "pair"
        examples = content_free_examples(pair)
    elif mode == "contextual":
        examples = list(train_examples)
        if len(examples) > CONTEXTUAL_MAX_ROWS:
            examples = random.Random(CONTEXTUAL_SEED).sample(examples, CONTEXTUAL_MAX_ROWS)
    else:
        raise ValueError(f"unknown calibration {mode!r}")
    model.class_bias.zero_()
    mean_probs = mean_class_probabilities(loaded, examples)
    bias = bias_from_probabilities(mean_probs)
    model.class_bias.copy_(bias.to(model.class_bias.device))
    return {
        "calibration": mode,
        "class_bias": [round(float(b), 6) for b in bias],
        "uncalibrated_mean_probs": [round(float(p), 6) for p in mean_probs],
        "n_inputs": len(examples),
    }
