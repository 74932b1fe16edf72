"""Generation pieces with a hand-made word-level tokenizer: which tokens carry the loss, what the model sees."""

import json

import pytest
import torch
import torch.nn.functional as F

from common.pairs import Pair
from worker.train import generation
from worker.train.generation import (
    IGNORE,
    build_generation_task,
    collate,
    completion_loss,
    encode_pair,
    loss_closure,
    prompt_ids,
)

VOCAB = [
    "[PAD]",
    "[EOS]",
    "[UNK]",
    "date",
    ":",
    "3",
    "march",
    "2024",
    "-",
    "03",
    "<",
    ">",
    "user",
    "assistant",
]
ID = {w: i for i, w in enumerate(VOCAB)}


@pytest.fixture
def tokenizer():
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(WordLevel(ID, unk_token="[UNK]"))
    core.pre_tokenizer = Whitespace()  # words and runs of punctuation: "2024-03-03" -> 2024 - 03 - 03
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="[PAD]", eos_token="[EOS]", unk_token="[UNK]"
    )


LONG = Pair("date: 3 march 2024", "2024-03-03")
SHORT = Pair("date: 3 march", "03")


def test_prompt_and_completion_ids_by_hand(tokenizer):
    ids, n_prompt = encode_pair(tokenizer, LONG, max_length=64)
    # prompt: date : 3 march 2024 (the newline separator is whitespace to this tokenizer) = 3 4 5 6 7
    # completion: 2024 - 03 - 03 [EOS] = 7 8 9 8 9 1
    assert ids == [3, 4, 5, 6, 7, 7, 8, 9, 8, 9, 1]
    assert n_prompt == 5


def test_labels_mask_the_prompt_and_the_padding(tokenizer):
    batch = collate(
        [encode_pair(tokenizer, LONG, 64), encode_pair(tokenizer, SHORT, 64)],
        ID["[PAD]"],
        torch.device("cpu"),
    )
    # row 0: 11 tokens, the first 5 are the prompt; row 1: prompt date : 3 march (4), completion 03 [EOS]
    assert batch["labels"].tolist() == [
        [IGNORE] * 5 + [7, 8, 9, 8, 9, 1],
        [IGNORE] * 4 + [9, 1] + [IGNORE] * 5,
    ]
    assert batch["input_ids"][1].tolist() == [3, 4, 5, 6, 9, 1, 0, 0, 0, 0, 0]
    assert batch["attention_mask"].tolist() == [[1] * 11, [1] * 6 + [0] * 5]


def test_a_long_example_loses_the_start_of_its_prompt(tokenizer):
    ids, n_prompt = encode_pair(tokenizer, LONG, max_length=8)
    # 6 completion tokens kept whole; room for 8 - 6 = 2 prompt tokens: the last two, march 2024
    assert ids == [6, 7, 7, 8, 9, 8, 9, 1]
    assert n_prompt == 2


def test_chat_template_is_used_when_the_tokenizer_has_one(tokenizer):
    tokenizer.chat_template = (
        "{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}<assistant> {% endif %}"
    )
    # "<user> date: 3 march 2024 <assistant> "
    assert prompt_ids(tokenizer, LONG) == [10, 12, 11, 3, 4, 5, 6, 7, 10, 13, 11]
    ids, n_prompt = encode_pair(tokenizer, LONG, 64)
    assert n_prompt == 11 and ids[11:] == [7, 8, 9, 8, 9, 1]


def test_completion_loss_counts_only_the_completion_tokens(tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(VOCAB), n_embd=16, n_layer=1, n_head=2, n_positions=32))
    model.eval()
    batch = collate(
        [encode_pair(tokenizer, LONG, 64), encode_pair(tokenizer, SHORT, 64)],
        ID["[PAD]"],
        torch.device("cpu"),
    )
    with torch.no_grad():
        got = completion_loss(model, batch)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    # the token at position t is predicted at t-1: row 0 positions 5..10, row 1 positions 4..5 (8 tokens)
    targets = [(0, t) for t in range(5, 11)] + [(1, 4), (1, 5)]
    manual = sum(
        F.cross_entropy(logits[r, t - 1], batch["input_ids"][r, t]).item() for r, t in targets
    ) / len(targets)
    assert got.item() == pytest.approx(manual, rel=1e-5)


def test_negative_f1_objective_scores_generations(monkeypatch):
    pairs = [Pair("a", "2024-03-03"), Pair("b", "1999-12-31")]
    # one generation right (F1 1), one wrong (F1 0): the objective is -(1 + 0)/2
    monkeypatch.setattr(generation, "generate", lambda loaded, ps, n: ["2024-03-03", "2000-01-01"])
    monkeypatch.setattr(generation, "reference_text", lambda loaded, text: text)
    objective = loss_closure(None, pairs, "neg_f1")  # type: ignore[arg-type]
    assert objective() == pytest.approx(-0.5)


def test_builtin_task_caps_evaluation_and_validation():
    task = build_generation_task("demo-dates", eval_size=10, val_size=7)
    assert (task.n_train, task.n_eval, task.n_val) == (400, 10, 7)
    assert build_generation_task("demo-dates", eval_size=10).eval == task.eval  # same rows every time
    assert not {p.completion for p in task.eval} & {p.completion for p in task.train}


def test_an_uploaded_file_splits_into_disjoint_train_validation_and_evaluation_pairs(tmp_path):
    rows = [{"prompt": f"Write {i} in words.", "completion": f"number {i}"} for i in range(40)]
    path = tmp_path / "numbers.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    task = generation.build_generation_task(str(path))
    # a fifth held out for evaluation (8), a fifth of the rest for validation (6), the rest trains
    assert (task.n_eval, task.n_val, len(task.train)) == (8, 6, 26)
    parts = [{p.prompt for p in part} for part in (task.train, task.eval, task.val)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert task.name == "numbers.jsonl" and task.train[0].completion.startswith("number ")


def test_an_uploaded_file_with_bad_rows_is_refused_with_their_lines(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"prompt": "a", "completion": "b"}\n{"prompt": "", "completion": "c"}\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"bad\.jsonl: line 2: prompt"):
        generation.build_generation_task(str(path))
