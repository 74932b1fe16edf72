"""RunSpec: the one JSON object a run is started with (docs/CONTRACTS.md section 1). Pure Python."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

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
