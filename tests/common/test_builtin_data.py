"""The built-in datasets: generated demo data, SST-2 from the shared folder, previews and fingerprints."""

from collections import Counter

import pytest

from common.builtin_data import (
    PREVIEW_ROWS,
    available_builtin_datasets,
    builtin_dataset,
    demo_sentiment,
    sst2_dir,
)


def test_demo_sentiment_is_deterministic_and_balanced_enough():
    a, b = demo_sentiment(), demo_sentiment()
    assert a.texts == b.texts and a.labels == b.labels
    assert 200 <= len(a) <= 1000
    counts = Counter(a.labels)
    assert set(counts) == {0, 1} and min(counts.values()) > 0.3 * len(a)
    assert len(set(a.texts)) == len(a.texts)


def test_the_registry_describes_each_dataset_as_it_loads():
    demo = builtin_dataset("demo-sentiment")
    assert demo is not None and demo.available()
    train, own_eval = demo.load_parts()
    assert own_eval is None and demo.n_rows == len(train) and list(demo.labels) == train.label_names
    preview = demo.preview()
    assert len(preview) == PREVIEW_ROWS
    assert preview[0] == {"text": train.texts[0], "label": train.label_names[train.labels[0]]}
    assert demo.fingerprint() == demo.fingerprint() and len(demo.fingerprint()) == 64
    assert builtin_dataset("no-such-dataset") is None
    assert available_builtin_datasets()[0].name == "demo-sentiment"


@pytest.mark.skipif(sst2_dir() is None, reason="../shared/data/sst2 is not on this machine")
def test_sst2_counts_and_labels_match_its_files():
    sst2 = builtin_dataset("sst2")
    assert sst2 is not None and sst2.available()
    train, dev = sst2.load_parts()
    assert dev is not None
    assert len(train) == sst2.n_rows and len(dev) == sst2.eval_rows
    assert list(sst2.labels) == train.label_names
    assert len(sst2.preview()) == PREVIEW_ROWS
