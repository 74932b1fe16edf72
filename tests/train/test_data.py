"""A run's data: k-shot sampling, held-out split, batch order."""

import itertools
import json
import os
import random
import subprocess
import sys
from collections import Counter

import pytest

from common.builtin_data import sst2_dir
from worker.train.data import build_task, held_out_split, iter_batches, k_shot_indices


def test_k_shot_per_class_with_seed():
    labels = [i % 3 for i in range(300)]
    chosen = k_shot_indices(labels, 16, seed=7)
    assert Counter(labels[i] for i in chosen) == {0: 16, 1: 16, 2: 16}
    assert chosen == k_shot_indices(labels, 16, seed=7)
    assert chosen != k_shot_indices(labels, 16, seed=8)
    assert k_shot_indices(labels, None, 0) == list(range(300))
    small = k_shot_indices([0, 0, 1], 16, 0)
    assert sorted(small) == [0, 1, 2]


def test_held_out_split_is_stratified_disjoint_and_fixed():
    labels = [0] * 50 + [1] * 30
    train, held = held_out_split(labels)
    assert not set(train) & set(held) and len(train) + len(held) == 80
    assert Counter(labels[i] for i in held) == {0: 10, 1: 6}
    assert held_out_split(labels) == (train, held)


def test_build_task_keeps_eval_rows_out_of_training_and_same_for_every_seed():
    t0 = build_task("demo-sentiment", k_shot=16, seed=0)
    t1 = build_task("demo-sentiment", k_shot=16, seed=1)
    assert len(t0.train_texts) == 32
    assert not set(t0.train_texts) & set(t0.eval_texts)
    assert t0.eval_texts == t1.eval_texts
    assert t0.train_texts != t1.train_texts
    capped = build_task("demo-sentiment", eval_size=20)
    assert len(capped.eval_texts) == 20


def test_build_task_with_eval_file_and_unknown_label(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("text,label\n" + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(40)))
    good = tmp_path / "eval.csv"
    good.write_text("text,label\nx,b\ny,a\n")
    task = build_task(str(train), eval_dataset=str(good), k_shot=4)
    assert task.eval_labels == [1, 0] and task.label_names == ["a", "b"]
    assert task.label_words == ["a", "b"]
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nx,c\ny,a\n")
    with pytest.raises(ValueError, match="do not occur in the training data"):
        build_task(str(train), eval_dataset=str(bad))


def test_batch_order_is_a_function_of_the_seed_alone():
    """Every method of a PoC trains in its own process: the order must not depend on the process's global
    random state or hash seed, only on the run seed."""
    random.seed(12345)  # a disturbed global generator must not matter
    first = list(itertools.islice(iter_batches(10, 4, seed=3), 4))
    code = (
        "import itertools, json, random; random.seed(7); from worker.train.data import iter_batches; "
        "print(json.dumps(list(itertools.islice(iter_batches(10, 4, seed=3), 4))))"
    )
    env = os.environ | {"PYTHONHASHSEED": "99"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert json.loads(other.stdout) == first
    assert first != list(itertools.islice(iter_batches(10, 4, seed=4), 4))


def test_batch_order_covers_each_epoch():
    first = list(itertools.islice(iter_batches(10, 4, seed=3), 4))
    # 10 rows in batches of 4: two batches per epoch, no repeats inside an epoch
    assert len(set(first[0]) | set(first[1])) == 8
    assert list(itertools.islice(iter_batches(3, 16, 0), 1))[0].__len__() == 3


@pytest.mark.skipif(sst2_dir() is None, reason="../shared/data/sst2 is not on this machine")
def test_sst2_task_trains_on_train_and_evaluates_on_dev():
    task = build_task("sst2", k_shot=16, seed=0)
    assert len(task.train_texts) == 32 and len(task.eval_texts) == 872
    assert Counter(task.train_labels) == {0: 16, 1: 16}
    assert task.label_words == ["terrible", "great"]


def test_validation_is_a_second_k_shot_sample_disjoint_from_training_and_dev():
    task = build_task("sst2", k_shot=16, seed=0, val_size=256)
    assert len(task.val_texts) == 32 and Counter(task.val_labels) == {0: 16, 1: 16}
    assert not set(task.val_texts) & set(task.train_texts)
    other = build_task("sst2", k_shot=16, seed=1, val_size=256)
    assert other.val_texts != task.val_texts  # drawn with the run seed, like the training rows
    large = build_task("sst2", k_shot=512, seed=0, val_size=256)
    assert Counter(large.val_labels) == {0: 128, 1: 128}  # capped, stratified
    assert not set(large.val_texts) & set(large.train_texts)


def test_an_uploaded_file_validates_on_rows_it_neither_trains_nor_evaluates_on():
    task = build_task("demo-sentiment", k_shot=8, seed=0, val_size=10)
    assert len(task.val_texts) == 10
    assert not set(task.val_texts) & (set(task.train_texts) | set(task.eval_texts))
    assert build_task("demo-sentiment", k_shot=None).val_texts == []  # every row trains: nothing left


def test_pairs_come_from_two_text_columns(tmp_path):
    path = tmp_path / "nli.csv"
    path.write_text(
        "premise,hypothesis,label\n"
        + "".join(
            f"a man sleeps {i},a person rests {i},{'entailment' if i % 2 else 'contradiction'}\n"
            for i in range(20)
        )
    )
    task = build_task(str(path), text_column="premise", text_b_column="hypothesis", k_shot=4)
    assert all(
        isinstance(t, tuple) and t[0].startswith("a man") and t[1].startswith("a person")
        for t in task.train_texts + task.eval_texts
    )
