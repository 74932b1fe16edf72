"""Generation runs: a decoder learns to write a completion for a prompt ("3rd of March 2024" → "2024-03-03").

What the loop needs from a generation task, and nothing of the loop itself:
- the data (`build_generation_task`): training, validation and evaluation pairs;
- tokenisation (`encode_pair`, `collate`): the prompt through the tokenizer's chat template when it has one
  (plain "prompt\\n" otherwise), then the completion and an end token; the labels are -100 on the prompt and
  on padding, so the loss is that of the completion (and its end) only;
- the objectives a step minimises (`loss_closure`): the completion's mean token loss, the same function
  for ZO's two forward passes and for AdamW's backward; or, for ZO only, −F1 of greedy generations;
- evaluation (`evaluate_generation`): mean completion loss and perplexity, greedy generation, exact match
  and F1 per example (common/text_metrics.py).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from common.builtin_generation import builtin_generation_dataset
from common.genfiles import read_pairs_file
from common.pairs import Pair
from common.text_metrics import MetricLanguage, detect_language, score
from worker.train.data import HELD_OUT_FRACTION, SPLIT_SEED, VALIDATION_SEED_OFFSET
from worker.train.models import LoadedModel

IGNORE = -100  # torch's cross_entropy ignore_index: no loss on this position
PROMPT_SEPARATOR = "\n"  # between prompt and completion for tokenizers without a chat template
N_EXAMPLES = 5  # generations shown at the first and the last evaluation


# --- data ----------------------------------------------------------------------------------------------


@dataclass
class GenerationTask:
    """What one generation run trains and evaluates on. Validation pairs pick the best step and are never
    reported; the three parts are disjoint."""

    name: str
    train: list[Pair]
    eval: list[Pair]
    val: list[Pair] = field(default_factory=list)
    language: MetricLanguage | None = None  # None: detected per example
    label_names: list[str] = field(default_factory=list)  # none: the `started` event's shape stays the same

    @property
    def n_train(self) -> int:
        return len(self.train)

    @property
    def n_eval(self) -> int:
        return len(self.eval)

    @property
    def n_val(self) -> int:
        return len(self.val)


def _read_pairs(path: str) -> list[Pair]:
    """The pairs of an uploaded file, read by the same reader that checked the upload."""
    parsed = read_pairs_file(path)
    if not parsed.ok:
        problems = "; ".join(
            f"line {e.row}: {e.field}: {e.problem}" if e.row else f"{e.field}: {e.problem}"
            for e in parsed.errors[:5]
        )
        raise ValueError(f"{Path(path).name}: {problems}")
    return list(parsed.pairs)


def _sample(pairs: list[Pair], size: int | None, seed: int) -> list[Pair]:
    """At most `size` pairs, drawn with `seed`, in their original order."""
    if size is None or size >= len(pairs):
        return pairs
    keep = sorted(random.Random(seed).sample(range(len(pairs)), size))
    return [pairs[i] for i in keep]


def build_generation_task(
    dataset: str,
    eval_dataset: str | None = None,
    eval_size: int | None = None,
    val_size: int | None = None,
    language: MetricLanguage | None = None,
) -> GenerationTask:
    """Resolve a generation run's pairs; the same for every seed and method (there is no k-shot sampling:
    every training pair trains).

    Evaluation pairs: `eval_dataset`, else the built-in's own part, else a held-out fifth of `dataset`.
    Validation pairs: the built-in's own part, else a fifth of the remaining pairs; both capped by
    `val_size`/`eval_size` with a fixed seed.
    """
    builtin = builtin_generation_dataset(dataset)
    if builtin is not None:
        parts = builtin.load_parts()
        train, evaluation, validation = parts.train, parts.eval, parts.validation
    else:
        pool = _read_pairs(dataset)
        order = list(range(len(pool)))
        random.Random(SPLIT_SEED).shuffle(order)
        n_eval = 0 if eval_dataset is not None else max(1, round(len(pool) * HELD_OUT_FRACTION))
        n_val = max(1, round((len(pool) - n_eval) * HELD_OUT_FRACTION)) if len(pool) - n_eval >= 5 else 0
        evaluation = [pool[i] for i in sorted(order[:n_eval])]
        validation = [pool[i] for i in sorted(order[n_eval : n_eval + n_val])]
        train = [pool[i] for i in sorted(order[n_eval + n_val :])]
    if eval_dataset is not None:
        own = builtin_generation_dataset(eval_dataset)
        evaluation = own.load_parts().eval if own is not None else _read_pairs(eval_dataset)
    if not train or not evaluation:
        raise ValueError(f"{dataset}: a generation run needs training and evaluation pairs")
    return GenerationTask(
        name=dataset if builtin is not None else Path(dataset).name,
        train=train,
        eval=_sample(evaluation, eval_size, SPLIT_SEED),
        val=_sample(validation, val_size, SPLIT_SEED + VALIDATION_SEED_OFFSET),
        language=language,
    )


# --- tokenisation --------------------------------------------------------------------------------------


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def end_token_id(tokenizer: Any) -> int:
    """The token that ends a completion: EOS (a chat model's end of turn), else SEP (BERT vocabularies)."""
    for candidate in (tokenizer.eos_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id):
        if candidate is not None:
            return int(candidate)
    raise ValueError("the tokenizer has no end-of-sequence token to end a completion with")


def prompt_ids(tokenizer: Any, pair: Pair) -> list[int]:
    """The tokens the model sees before it writes: the chat template's user turn(s) and the assistant's
    opening when the tokenizer has one (the turns as written for a pair from a chat file), else the plain
    prompt and a newline."""
    if has_chat_template(tokenizer):
        turns = pair.messages or (("user", pair.prompt),)
        text = tokenizer.apply_chat_template(
            [{"role": role, "content": content} for role, content in turns],
            add_generation_prompt=True,
            tokenize=False,
        )
    else:
        text = pair.prompt + PROMPT_SEPARATOR
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def completion_ids(tokenizer: Any, completion: str) -> list[int]:
    """The completion's tokens and the end token: the model learns to stop as well as to write."""
    return list(tokenizer(completion, add_special_tokens=False)["input_ids"]) + [end_token_id(tokenizer)]


def encode_pair(tokenizer: Any, pair: Pair, max_length: int) -> tuple[list[int], int]:
    """(token ids, number of prompt tokens), at most `max_length` tokens.

    A long example loses the start of its prompt first (the end of a prompt is what the completion follows),
    keeping at least one prompt token; a completion longer than that is cut at its end.
    """
    prompt, completion = prompt_ids(tokenizer, pair), completion_ids(tokenizer, pair.completion)
    completion = completion[: max(max_length - 1, 1)]
    room = max(max_length - len(completion), 1)
    prompt = prompt[-room:]
    return prompt + completion, len(prompt)


def collate(encoded: Sequence[tuple[list[int], int]], pad_id: int, device: torch.device) -> dict[str, Any]:
    """Right-padded batch with labels: -100 on prompt tokens and on padding, the token ids elsewhere."""
    width = max(len(ids) for ids, _ in encoded)
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(encoded), width), dtype=torch.long)
    labels = torch.full((len(encoded), width), IGNORE, dtype=torch.long)
    for row, (ids, n_prompt) in enumerate(encoded):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention[row, : len(ids)] = 1
        labels[row, n_prompt : len(ids)] = torch.tensor(ids[n_prompt:])
    return {
        "input_ids": input_ids.to(device),
        "attention_mask": attention.to(device),
        "labels": labels.to(device),
    }


def encode_batch(loaded: LoadedModel, pairs: Sequence[Pair]) -> dict[str, Any]:
    tok = loaded.tokenizer
    encoded = [encode_pair(tok, p, loaded.max_length) for p in pairs]
    return collate(encoded, int(tok.pad_token_id), loaded.input_device)


# --- objectives ----------------------------------------------------------------------------------------


def completion_loss_sum(model: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """(summed token loss over the completions, number of completion tokens); logits in float32 (a bf16
    loss quantises ZO's projected gradient, see ZO-SPEC.md)."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    # position t predicts token t+1
    logits, labels = logits[:, :-1].float(), batch["labels"][:, 1:]
    total = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE, reduction="sum"
    )
    return total, int((labels != IGNORE).sum())


def completion_loss(model: Any, batch: dict[str, Any]) -> torch.Tensor:
    """Mean token loss over the batch's completion tokens (prompt and padding excluded)."""
    total, n = completion_loss_sum(model, batch)
    return total / max(n, 1)


def loss_closure(
    loaded: LoadedModel,
    pairs: Sequence[Pair],
    objective: str = "loss",
    max_new_tokens: int = 24,
    language: MetricLanguage | None = None,
) -> Callable[[], torch.Tensor | float]:
    """What one step minimises on one batch, called once (AdamW) or twice (ZO) on the same batch.

    "neg_f1": −(mean F1 of greedy generations): a ZO method only compares two values of it, so the
    metric itself can be the objective (MeZO optimised SQuAD F1 so). Piecewise constant: many steps see
    ℓ₊ = ℓ₋ and make no update.
    """
    if objective == "neg_f1":
        references = [p.completion for p in pairs]

        def negative_f1() -> float:
            texts = generate(loaded, pairs, max_new_tokens)
            scored = [
                _score(loaded, t, r, p, language) for t, r, p in zip(texts, references, pairs, strict=True)
            ]
            return -sum(f for _, f in scored) / len(scored)

        return negative_f1
    batch = encode_batch(loaded, pairs)
    return lambda: completion_loss(loaded.model, batch)


# --- generation and evaluation -------------------------------------------------------------------------


@torch.inference_mode()
def generate(loaded: LoadedModel, pairs: Sequence[Pair], max_new_tokens: int) -> list[str]:
    """Greedy completions of the pairs' prompts (left-padded batch), cut at the end token, decoded."""
    tok = loaded.tokenizer
    model: Any = loaded.model  # a transformers causal LM (models.load_causal_lm)
    prompts = [prompt_ids(tok, p)[-max(loaded.max_length - 1, 1) :] for p in pairs]
    pad, end = int(tok.pad_token_id), end_token_id(tok)
    width = max(len(p) for p in prompts)
    input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=loaded.input_device)
    attention = torch.tensor(
        [[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=loaded.input_device
    )
    out = model.generate(
        input_ids=input_ids,
        attention_mask=attention,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        eos_token_id=end,
        pad_token_id=pad,
    )
    texts = []
    for row in out[:, width:].tolist():
        cut = row.index(end) if end in row else len(row)
        texts.append(tok.decode(row[:cut], skip_special_tokens=True).strip())
    return texts


def reference_text(loaded: LoadedModel, completion: str) -> str:
    """The completion as the tokenizer writes it back: a model is not wrong for its tokenizer's spelling
    (an uncased WordPiece vocabulary writes "2024 - 03 - 03" for "2024-03-03"). Byte-level tokenizers
    give the completion back unchanged."""
    tok = loaded.tokenizer
    return tok.decode(
        tok(completion, add_special_tokens=False)["input_ids"], skip_special_tokens=True
    ).strip()


def _score(
    loaded: LoadedModel, generated: str, completion: str, pair: Pair, language: MetricLanguage | None
) -> tuple[float, float]:
    # The language of an example: given, else detected from the whole pair (a date's answer is digits
    # whatever the language it was asked in).
    lang = language or detect_language(pair.prompt + completion)
    return score(generated, reference_text(loaded, completion), lang)


@dataclass
class GenerationScores:
    """One evaluation of a generation model on a list of pairs, per example in the pairs' order."""

    loss: float
    perplexity: float
    exact_match: float
    f1: float
    em_bits: list[int]
    f1_values: list[float]
    generations: list[str]

    def examples(self, pairs: Sequence[Pair], n: int = N_EXAMPLES) -> list[dict[str, Any]]:
        return [
            {"prompt": p.prompt, "reference": p.completion, "generated": g, "exact_match": bool(e), "f1": f}
            for p, g, e, f in zip(pairs[:n], self.generations, self.em_bits, self.f1_values)
        ]


@torch.inference_mode()
def evaluate_generation(
    loaded: LoadedModel,
    pairs: Sequence[Pair],
    batch_size: int,
    max_new_tokens: int,
    language: MetricLanguage | None = None,
) -> GenerationScores:
    """Mean completion loss (per token, over all pairs) and its perplexity; greedy generation with at most
    `max_new_tokens` tokens; exact match and F1 of each generation against its reference."""
    total, tokens = 0.0, 0
    generations: list[str] = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        loss_sum, n = completion_loss_sum(loaded.model, encode_batch(loaded, chunk))
        total, tokens = total + loss_sum.item(), tokens + n
        generations.extend(generate(loaded, chunk, max_new_tokens))
    scored = [_score(loaded, g, p.completion, p, language) for g, p in zip(generations, pairs, strict=True)]
    n_pairs = max(len(pairs), 1)
    loss = total / max(tokens, 1)
    return GenerationScores(
        loss=loss,
        perplexity=math.exp(min(loss, 700.0)),  # exp overflows a float past ~709
        exact_match=sum(e for e, _ in scored) / n_pairs,
        f1=sum(f for _, f in scored) / n_pairs,
        em_bits=[int(e) for e, _ in scored],
        f1_values=[round(f, 6) for _, f in scored],
        generations=generations,
    )
