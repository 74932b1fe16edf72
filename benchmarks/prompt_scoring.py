"""What scoring label words of several tokens costs, against one-token label words, on the embedded decoder.

    flock /tmp/zopoc-heavy.lock .venv/bin/python benchmarks/prompt_scoring.py [--json]

Three ways to score a batch of 16 SST-2 dev prompts (template "{text} It was {mask}."), timed alternately in
one process (ratios, not absolute times: the machine is shared):
- one-token label words (" terrible" / " great"): one pass, the LM-head rows of the label words only;
- several-token label words (" very bad" / " really quite good"), the engine's way: one pass over the prompts
  that keeps their key/value cache, then one pass over every class's label tokens from that cache;
- the same words, the plain way: one batch of prompt + label word per (example, class), full LM logits.
The last two must agree (checked); the table says what the cache saves.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit  # also puts the repository on sys.path

COLUMNS = ["scoring", "label_words", "tokens_per_class", "s_per_batch", "x_one_token"]


def plain_scores(lm, encoder, texts, label_tokens):
    """log p(word | prompt) from one batch of prompt + word sequences (right-padded), full logits."""
    import torch

    rows, spans = [], []
    for text in texts:
        prompt = encoder.prompt_ids(text)
        for word in label_tokens:
            rows.append(prompt + word)
            spans.append((len(prompt), word))
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    logp = torch.log_softmax(lm(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
    out = [
        sum(logp[i, start - 1 + j, t].item() for j, t in enumerate(word))
        for i, (start, word) in enumerate(spans)
    ]
    return torch.tensor(out).view(len(texts), len(label_tokens))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from common.prompts import Prompt, default_template
    from worker.train.data import build_task
    from worker.train.models import load_model
    from worker.train.prompting import PromptClassifier

    torch.set_num_threads(args.threads)
    texts = build_task("sst2", k_shot=16, seed=0).eval_texts[:16]
    template = default_template("sentiment", "en")
    one = load_model(
        "smollm2-135m", 2, [], device="cpu", prompt=Prompt("sentiment", "en", template, ["terrible", "great"])
    )
    many = load_model(
        "smollm2-135m",
        2,
        [],
        device="cpu",
        prompt=Prompt("sentiment", "en", template, ["very bad", "really quite good"]),
    )
    assert isinstance(many.model, PromptClassifier) and many.prompt is not None
    model, label_tokens = many.model, many.prompt.label_tokens
    lm, encoder = model.lm, many.prompt_encoder
    tokens = [len(t) for t in label_tokens]
    ways = {
        "one-token words (label rows only)": lambda: one.model(**one.encode(texts)),
        "several tokens, prompt cache": lambda: many.model(**many.encode(texts)),
        "several tokens, prompt + word per class": lambda: plain_scores(lm, encoder, texts, label_tokens),
    }
    with torch.inference_mode():
        cached, plain = (
            model.scores(**many.encode(texts)),
            plain_scores(lm, encoder, texts, label_tokens),
        )
        assert torch.allclose(cached, plain, atol=1e-3), (cached, plain)
        times: dict[str, list[float]] = {name: [] for name in ways}
        for fn in ways.values():
            fn()  # warm-up
        for _ in range(args.repeats):
            for name, fn in ways.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["one-token words (label rows only)"])
    rows = []
    for name, values in times.items():
        words = "terrible / great" if name.startswith("one") else "very bad / really quite good"
        per_class = "1 / 1" if name.startswith("one") else " / ".join(map(str, tokens))
        rows.append(
            {
                "scoring": name,
                "label_words": words,
                "tokens_per_class": per_class,
                "s_per_batch": statistics.median(values),
                "x_one_token": statistics.median(values) / base,
            }
        )
    print(
        f"batch of 16 SST-2 dev prompts, {args.threads} threads, load average {os.getloadavg()[0]:.2f}",
        file=sys.stderr,
    )
    emit(rows, COLUMNS, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
