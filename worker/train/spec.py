"""RunSpec: the one JSON object a run is started with (docs/CONTRACTS.md section 1). Pure Python."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from common.prompts import CALIBRATIONS, LANGUAGES, MASK, TASK_KINDS

METHODS = ("lozo", "lozo_m", "mezo", "adamw", "sgd")
ZO_METHODS = ("lozo", "lozo_m", "mezo")


@dataclass
class RunSpec:
    """Every field but `method` has the contract's default; steps and max_minutes both null = until cancelled."""

    method: str
    model: str = "minilm"
    dataset: str = "demo-sentiment"
    eval_dataset: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    k_shot: int | None = 16
    eval_size: int | None = None
    steps: int | None = 100
    max_minutes: float | None = None
    lr: float | None = None
    zo_eps: float = 1e-3
    rank: int = 2
    nu: int = 50
    beta: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 16
    max_length: int = 64
    seed: int = 0
    eval_every: int = 50
    device: str = "auto"
    dtype: str = "float32"
    head_init: str = "prototype"
    checkpoint_dir: str | None = None
    # refinements beyond the contract table (optional, documented there):
    lr_probe: bool = False
    allow_download: bool = False
    scale_by_rank: bool = False
    eval_batch_size: int = 64
    # prompt-based classification (decoders and masked LMs; an encoder with a head ignores them):
    task_kind: str | None = None  # None = inferred from the dataset and its label names
    language: str | None = None  # "en" | "ja"; None = detected from the training texts
    template: str | None = None  # None = the kind's default template in that language (common/prompts.py)
    label_words: list[str] | None = None  # one per label, in label order; None = the kind's defaults
    calibration: str = "content_free"  # "content_free" | "contextual" | "none": a fixed bias set at step 0
    text_b_column: str | None = None  # the second text of a pair (task_kind "pair"), a column of the file
    val_size: int | None = 256  # cap on the validation rows that pick the best step (stratified)

    def __post_init__(self) -> None:
        problems = []
        if self.method not in METHODS:
            problems.append(f"method must be one of {METHODS}, not {self.method!r}")
        for name in ("steps", "k_shot", "eval_size", "rank", "nu", "batch_size", "max_length", "eval_every",
                     "eval_batch_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                problems.append(f"{name} must be an integer >= 1, not {value!r}")
        for name in ("lr", "zo_eps", "max_minutes"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                problems.append(f"{name} must be a number > 0, not {value!r}")
        if not 0 <= self.beta < 1:
            problems.append(f"beta must be in [0, 1), not {self.beta!r}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0, not {self.weight_decay!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            problems.append(f"seed must be an integer >= 0, not {self.seed!r}")
        if self.device not in ("cpu", "cuda", "auto"):
            problems.append(f"device must be cpu, cuda or auto, not {self.device!r}")
        if self.dtype not in ("float32", "float16", "bfloat16"):
            problems.append(f"dtype must be float32, float16 or bfloat16, not {self.dtype!r}")
        if self.task_kind is not None and self.task_kind not in TASK_KINDS:
            problems.append(f"task_kind must be one of {TASK_KINDS} or null, not {self.task_kind!r}")
        if self.language is not None and self.language not in LANGUAGES:
            problems.append(f"language must be one of {LANGUAGES} or null, not {self.language!r}")
        if self.template is not None and (not isinstance(self.template, str) or self.template.count(MASK) != 1):
            problems.append(f"template must be a string with {MASK} exactly once, not {self.template!r}")
        if self.label_words is not None:
            words = self.label_words
            if (not isinstance(words, list) or len(words) < 2
                    or not all(isinstance(w, str) and w.strip() for w in words)):
                problems.append(f"label_words must be a list of at least 2 non-empty strings, not {words!r}")
            elif len({w.strip() for w in words}) != len(words):
                problems.append(f"label_words must differ from one another, not {words!r}")
        if self.calibration not in CALIBRATIONS:
            problems.append(f"calibration must be one of {CALIBRATIONS}, not {self.calibration!r}")
        if self.val_size is not None and (not isinstance(self.val_size, int) or isinstance(self.val_size, bool)
                                          or self.val_size < 1):
            problems.append(f"val_size must be an integer >= 1 or null, not {self.val_size!r}")
        if self.head_init not in ("prototype", "label_words", "random"):
            problems.append(f"head_init must be prototype, label_words or random, not {self.head_init!r}")
        if problems:
            raise ValueError("invalid run spec: " + "; ".join(problems))

    @property
    def zeroth_order(self) -> bool:
        return self.method in ZO_METHODS

    @classmethod
    def from_dict(cls, data: dict) -> "RunSpec":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"invalid run spec: unknown fields {unknown}")
        if "method" not in data:
            raise ValueError("invalid run spec: 'method' is required")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> "RunSpec":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def to_dict(self) -> dict:
        return asdict(self)
