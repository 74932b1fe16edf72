"""LoRA adapters (Hu et al., 2022) through peft, for the methods whose registry entry asks for them.

The backbone's weights are frozen and every linear layer inside it gets a trainable low-rank pair
(A: r × n_in, B: n_out × r, B starting at zero, so the adapted model starts exactly where the base model is).
The layers adapted are the backbone's linear layers except the output layer (a decoder's LM head, tied to
its embeddings); a classifier head outside the backbone stays fully trainable, as in the papers' LoRA
baselines. The memory forecast counts the same layers (``ModelShape.linear_dims``).
"""

from __future__ import annotations

import torch
from torch import nn

from common.runspec import RunSpec
from worker.train.models import EncoderClassifier
from worker.train.prompting import MaskedPromptClassifier, PromptClassifier

# The attribute set on a model whose adapters are in place (a second call must not add a second set).
_MARK = "_zopoc_lora"


def _backbone(model: nn.Module) -> nn.Module:
    """The pretrained part of a classifier: what LoRA adapts."""
    if isinstance(model, EncoderClassifier):
        return model.encoder
    if isinstance(model, PromptClassifier):
        return model.lm
    if isinstance(model, MaskedPromptClassifier):
        return model.mlm
    if hasattr(model, "generate") and hasattr(model, "config"):  # a causal LM trained to write (generation)
        return model
    raise TypeError(f"LoRA cannot adapt a {type(model).__name__}")


def adapted_layer_names(backbone: nn.Module) -> list[str]:
    """Names of the linear layers LoRA adapts: every ``nn.Linear`` (or GPT-2's ``Conv1D``), bar the output
    layer, whose weight is (or is tied to) the output embeddings."""
    from transformers.pytorch_utils import Conv1D

    get_output = getattr(backbone, "get_output_embeddings", None)
    output = get_output() if callable(get_output) else None
    skip = {id(output.weight)} if isinstance(output, nn.Module) else set()
    return [
        name
        for name, module in backbone.named_modules()
        if isinstance(module, (nn.Linear, Conv1D)) and id(module.weight) not in skip
    ]


def inject_lora(backbone: nn.Module, rank: int, alpha: int, seed: int) -> None:
    """Freeze ``backbone`` and give its linear layers (``adapted_layer_names``) LoRA adapters, in place.

    The A factors are drawn from ``seed`` (peft's Kaiming-uniform), so every run with the same seed starts
    from the same adapters; B starts at zero. The adapters take the backbone's device and dtype."""
    from peft import LoraConfig, inject_adapter_in_model
    from transformers.pytorch_utils import Conv1D

    names = adapted_layer_names(backbone)
    if not names:
        raise ValueError("LoRA found no linear layer to adapt in this model")
    modules = dict(backbone.named_modules())
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=0.0,
        target_modules=names,
        bias="none",
        # GPT-2's Conv1D stores its weight as (in, out): peft must know, or it warns and guesses
        fan_in_fan_out=any(isinstance(modules[n], Conv1D) for n in names),
    )
    reference = next(backbone.parameters())
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for p in backbone.parameters():
            p.requires_grad_(False)
        inject_adapter_in_model(config, backbone)  # leaves only the adapters trainable in the backbone
    finally:
        torch.random.set_rng_state(state)
    for name, p in backbone.named_parameters():
        if "lora_" in name:
            p.data = p.data.to(device=reference.device, dtype=reference.dtype)


def add_lora(model: nn.Module, rank: int, alpha: int, seed: int) -> int:
    """LoRA on a classifier's backbone (its head, if any, stays trainable); returns the number of trainable
    parameters afterwards. Calling it again on the same model does nothing."""
    if not getattr(model, _MARK, False):
        inject_lora(_backbone(model), rank, alpha, seed)
        setattr(model, _MARK, True)
    return _count_trainable(model)


def merge_lora(model: nn.Module) -> int:
    """Fold every LoRA adapter of ``model`` into its base weight (W + α/r · BA) and put the plain layer back
    in its place, in place; returns the number of layers merged. The model then has the architecture and
    parameter names of the pretrained one, so ``save_pretrained`` writes a folder any transformers program
    loads without peft. The merged weights equal the adapted model's up to float rounding."""
    from peft.tuners.lora.layer import LoraLayer

    merged = 0
    for name, module in list(model.named_modules()):
        if not isinstance(module, LoraLayer):
            continue
        module.merge()
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, module.get_base_layer())
        merged += 1
    if merged and hasattr(model, _MARK):
        delattr(model, _MARK)
    return merged


def _count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def add_method_adapters(spec: RunSpec, model: nn.Module) -> None:
    """Give ``model`` the adapters ``spec``'s method trains (none for the methods that train every weight)."""
    from common.methods import get_method

    if get_method(spec.method).adapters == "lora":
        add_lora(model, spec.lora_rank, spec.lora_alpha, spec.seed)
