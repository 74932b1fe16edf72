"""Prompt-based classifiers: a pretrained language model read through a template at its label words.

- Decoders (`PromptClassifier`): the class score of label c is the log-probability of its label word's
  whole token sequence as the continuation of the prompt, log p(w_c | prompt) = Σ_j log p(w_c,j | prompt,
  w_c,<j). When every label word is one token, the scores are the LM-head logits of those rows at the last
  prompt token: they differ from the log-probabilities by the same log-normaliser for every class, so the
  softmax over classes, the loss and the prediction are the same, and no batch × vocabulary tensor is
  made. Several-token words: one pass over the prompts that keeps their keys and values, then one pass over
  the label tokens of every class with that cache repeated per class (prompt tokens are computed once).
- Masked LMs (`MaskedPromptClassifier`, BERT / RoBERTa families with their MLM head): the template's
  {mask} becomes the mask token and the class score is the MLM logit of the label word there (LM-BFF).
  Label words must be single tokens there: a word of several tokens would need several masks whose
  predictions are independent of one another, which is not the word's probability; it is refused with
  the tokens it splits into, so the person can choose another word.
Both add a fixed `class_bias` (calibration, set once from the start weights: `calibrate`) to the scores.
Scores are computed in float32 whatever the model's dtype.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeGuard

import torch
from torch import nn

from common import prompts as P
from common.prompts import Prompt, example_fields
from worker.zo.exact import effective_weight


class PromptEncoder:
    """Turns examples into token ids of their prompts, and label words into token sequences.

    Truncation never cuts the template: when a prompt is longer than `max_length`, tokens are dropped from
    the start of its longest text field (the end of a text, next to the question, is kept).
    """

    def __init__(self, tokenizer, prompt: Prompt, max_length: int, masked_lm: bool):
        P.check_template(prompt.template, prompt.kind, masked_lm=masked_lm)
        P.check_label_words(prompt.label_words, len(prompt.label_words))
        self.tok = tokenizer
        self.prompt = prompt
        self.max_length = max_length
        self.masked_lm = masked_lm
        if masked_lm:
            if tokenizer.mask_token_id is None:
                raise ValueError("this tokenizer has no mask token: it is not a masked language model's")
            self.prefix_ids = [tokenizer.cls_token_id] if tokenizer.cls_token_id is not None else []
            self.suffix_ids = [tokenizer.sep_token_id] if tokenizer.sep_token_id is not None else []
        else:
            self.prefix_ids = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
            self.suffix_ids = []
        prompt.label_tokens = self._label_tokens()

    # --- label words ---
    def _label_tokens(self) -> list[list[int]]:
        """Each label word's tokens as they follow the template's text before {mask} (spaces included).

        The word is tokenised after the literal text that precedes {mask} and that text's tokens removed, so
        tokenizers that mark the start of a string (SentencePiece's dummy prefix) spell the word as it is
        spelled inside the prompt.
        """
        _, joint, _ = P.split_at_mask(self.prompt.template, {})
        lead = _literal_before_mask(self.prompt.template).rstrip()
        lead_ids = self.tok.encode(lead, add_special_tokens=False) if lead else []
        sequences = []
        for word in self.prompt.label_words:
            ids = self.tok.encode(lead + joint + word, add_special_tokens=False)
            if lead_ids and ids[: len(lead_ids)] == lead_ids:
                ids = ids[len(lead_ids) :]
            else:
                ids = self.tok.encode(joint + word, add_special_tokens=False)
            if not ids:
                raise P.PromptError(f"the label word {word!r} gives no token")
            sequences.append(ids)
        words = self.prompt.label_words
        for i in range(len(words)):
            for j in range(i + 1, len(words)):
                if sequences[i] == sequences[j]:
                    raise P.PromptError(
                        f"the label words {words[i]!r} and {words[j]!r} are the same tokens "
                        f"{self._spell(sequences[i])} for this model's tokenizer: choose words it tells apart"
                    )
        if self.masked_lm:
            long = [(w, s) for w, s in zip(words, sequences) if len(s) != 1]
            if long:
                word, seq = long[0]
                raise P.PromptError(
                    f"a masked language model reads one token at the mask, but {word!r} is {len(seq)} tokens "
                    f"{self._spell(seq)}: choose a label word that is a single token for this tokenizer"
                )
        return sequences

    def _spell(self, ids: list[int]) -> str:
        return str(self.tok.convert_ids_to_tokens(ids))

    # --- prompts ---
    def prompt_ids(self, example) -> list[int]:
        """Token ids of one example's prompt (decoder: up to the label word; MLM: with the mask token)."""
        fields = example_fields(example)
        if self.masked_lm:
            text = P.fill(self.prompt.template, fields, label_word=self.tok.mask_token)
            # the whitespace before {mask} stays: RoBERTa-like tokenizers join it to the mask token
        else:
            text, _, _ = P.split_at_mask(self.prompt.template, fields)
        spans = _field_spans(
            self.prompt.template, fields, masked_lm=self.masked_lm, mask_text=self.tok.mask_token or ""
        )
        enc = self.tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = list(enc["input_ids"]), list(enc["offset_mapping"])
        budget = self.max_length - len(self.prefix_ids) - len(self.suffix_ids)
        if len(ids) > budget:
            ids = _truncate_fields(ids, offsets, spans, len(ids) - budget)
        return self.prefix_ids + ids + self.suffix_ids

    def encode(self, examples: list, device: torch.device) -> dict[str, torch.Tensor]:
        """Right-padded batch of prompts."""
        rows = [self.prompt_ids(e) for e in examples]
        width = max(len(r) for r in rows)
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        return {
            "input_ids": torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=device),
            "attention_mask": torch.tensor(
                [[1] * len(r) + [0] * (width - len(r)) for r in rows], device=device
            ),
        }


def _literal_before_mask(template: str) -> str:
    pieces = P.segments(template, {})
    out = ""
    for kind, value in pieces:
        if kind == "mask":
            return out
        out = value if kind == "literal" else ""
    return out


def _field_spans(
    template: str, fields: dict[str, str], masked_lm: bool, mask_text: str
) -> list[tuple[int, int]]:
    """Character spans of the text fields in the rendered prompt."""
    spans, pos = [], 0
    for kind, value in P.segments(template, fields):
        if kind == "mask":
            if not masked_lm:
                break
            value = mask_text
        if kind not in ("literal", "mask") and value:
            spans.append((pos, pos + len(value)))
        pos += len(value)
    return spans


def _truncate_fields(ids: list[int], offsets: list, spans: list[tuple[int, int]], excess: int) -> list[int]:
    """Drop `excess` tokens from the starts of the longest text fields (longest first, one token at a time)."""
    members = [[i for i, (s, e) in enumerate(offsets) if e > s and a <= s < b] for a, b in spans]
    drop: set[int] = set()
    for _ in range(excess):
        longest = max(members, key=len, default=[])
        if not longest:
            raise P.PromptError(
                "the template alone is longer than max_length: shorten it or raise max_length"
            )
        drop.add(longest.pop(0))
    return [t for i, t in enumerate(ids) if i not in drop]


class PromptClassifier(nn.Module):
    """Decoder-only LM read as a classifier at the label words after the prompt (see the module docstring)."""

    kind = "decoder"
    scoring = "next_token"
    # Buffers, and the transformers causal LM (whose methods transformers types loosely).
    lm: Any
    label_tokens: torch.Tensor
    label_lengths: torch.Tensor
    class_bias: torch.Tensor

    def __init__(self, lm: nn.Module, label_tokens: list):
        super().__init__()
        self.lm = lm
        sequences = [list(t) if isinstance(t, (list, tuple)) else [int(t)] for t in label_tokens]
        width = max(len(s) for s in sequences)
        self.register_buffer(
            "label_tokens", torch.tensor([s + [0] * (width - len(s)) for s in sequences]), persistent=False
        )
        self.register_buffer("label_lengths", torch.tensor([len(s) for s in sequences]), persistent=False)
        # the calibration of the shared start (calibrate): saved with the weights, never trained
        self.register_buffer("class_bias", torch.zeros(len(sequences)))
        self.single_token = width == 1
        base = self._base()
        params = inspect.signature(base.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    @property
    def label_token_ids(self) -> torch.Tensor:
        """First token of each label word."""
        return self.label_tokens[:, 0]

    def _base(self) -> nn.Module:
        return self.lm.get_decoder() if hasattr(self.lm, "get_decoder") else self.lm.base_model

    def _rows(self, hidden: torch.Tensor, token_ids: torch.Tensor | None) -> torch.Tensor:
        """LM-head logits (float32) of `hidden`, for the vocabulary rows `token_ids` (None = all)."""
        out_emb = self.lm.get_output_embeddings()
        rows = None if token_ids is None else token_ids.to(out_emb.weight.device)
        # read through effective_weight: a bf16 LOZO run keeps part of the (tied) weight outside its storage
        weight = effective_weight(out_emb.weight, rows)
        logits = hidden.to(weight.device).float() @ weight.T
        bias = getattr(out_emb, "bias", None)
        if bias is not None:
            logits = logits + (bias if token_ids is None else bias[token_ids.to(bias.device)]).float()
        return logits

    def scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Uncalibrated class scores (batch × classes, float32)."""
        base = self._base()
        out = base(input_ids=input_ids, attention_mask=attention_mask, use_cache=not self.single_token)
        hidden = out.last_hidden_state
        last = attention_mask.sum(1) - 1
        h = hidden[torch.arange(hidden.shape[0], device=hidden.device), last.to(hidden.device)]
        if self.single_token:
            return self._rows(h, self.label_tokens[:, 0])
        logp_first = torch.log_softmax(self._rows(h, None), dim=-1)
        scores = logp_first[:, self.label_tokens[:, 0].to(logp_first.device)]
        return scores + self._continuation(base, out, attention_mask, last).to(scores.device)

    def _continuation(self, base, out, attention_mask, last) -> torch.Tensor:
        """Σ_{j≥1} log p(w_c,j | prompt, w_c,<j) for every example and class, from the prompts' cache."""
        n_classes, width = self.label_tokens.shape
        batch = attention_mask.shape[0]
        device = attention_mask.device
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        if cache is None:
            raise RuntimeError(
                "the decoder returned no key-value cache: label words of several tokens need one"
            )
        cache.batch_repeat_interleave(n_classes)  # row b*C + c: example b continued by class c
        feed = self.label_tokens[:, :-1].to(device).repeat(batch, 1)
        targets = self.label_tokens[:, 1:].to(device).repeat(batch, 1)
        steps = torch.arange(width - 1, device=device)
        real = (steps[None, :] < (self.label_lengths.to(device) - 1)[:, None]).repeat(batch, 1)
        mask = torch.cat([attention_mask.repeat_interleave(n_classes, 0), real.long()], dim=1)
        positions = last.to(device).repeat_interleave(n_classes)[:, None] + 1 + steps[None, :]
        hidden = base(
            input_ids=feed,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self._cache_arg: cache},
        ).last_hidden_state
        logp = torch.log_softmax(self._rows(hidden, None), dim=-1)
        token_lp = logp.gather(-1, targets.to(logp.device)[..., None]).squeeze(-1)
        return (token_lp * real.to(token_lp.device)).sum(-1).view(batch, n_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        scores = self.scores(input_ids, attention_mask)
        return scores + self.class_bias.to(scores.device).float()


class MaskedPromptClassifier(nn.Module):
    """Masked LM read at its mask token: the MLM logits of the (single-token) label words."""

    kind = "encoder"
    scoring = "mask"
    mlm: Any  # a transformers masked LM
    label_token_ids: torch.Tensor  # buffers
    class_bias: torch.Tensor

    def __init__(self, mlm: nn.Module, label_tokens: list[list[int]], mask_token_id: int):
        super().__init__()
        self.mlm = mlm
        self.mask_token_id = mask_token_id
        self.register_buffer("label_token_ids", torch.tensor([t[0] for t in label_tokens]), persistent=False)
        self.register_buffer("class_bias", torch.zeros(len(label_tokens)))

    def _head(self) -> nn.Module | None:
        for name in ("cls", "lm_head", "generator_lm_head", "predictions"):
            head = getattr(self.mlm, name, None)
            if isinstance(head, nn.Module):
                return head
        return None

    def scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)
        at = (input_ids == self.mask_token_id).int().argmax(1)  # the first mask of each prompt
        head = self._head()
        if head is None:  # an unknown MLM layout: the full logits, then the mask positions
            logits = self.mlm(input_ids=input_ids, attention_mask=attention_mask).logits[rows, at]
        else:
            hidden = self.mlm.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            logits = head(hidden[rows, at])
        return logits[:, self.label_token_ids.to(logits.device)].float()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        scores = self.scores(input_ids, attention_mask)
        return scores + self.class_bias.to(scores.device).float()


def is_prompt_based(model: nn.Module) -> TypeGuard[PromptClassifier | MaskedPromptClassifier]:
    return isinstance(model, (PromptClassifier, MaskedPromptClassifier))
