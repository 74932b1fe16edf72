"""The memory projection against the figures the papers publish, for the models managers ask about.

    .venv/bin/python benchmarks/projection.py           # a table
    .venv/bin/python benchmarks/projection.py --json    # one JSON row per (model, method)

Every row is the product's own projection (``backend.estimates.memory``, the arithmetic the dashboard, the
report and the API show), on CUDA, for the model's shape from the shipped catalogue (no download). Where a
paper publishes a figure for the same model and method, the row carries it (``published_gb``) and the
relative error; where it publishes only a ratio or a fit ("one 80 GB card"), the row carries that check.
Figures and their sources (ZO-SPEC.md):

* LOZO (Chen et al., ICLR 2025), RoBERTa-large: LOZO ≈ 2.84 GB, LOZO-M ≈ 2.85 GB, MeZO ≈ 3.0 GB.
  Their setting, as assumed here: float32, batch 64, prompts of up to 128 tokens (MeZO's RoBERTa setup).
* MeZO (Malladi et al., NeurIPS 2023), OPT on MultiRC (~400 tokens an example): full fine-tuning needs 7×
  MeZO's memory at 1.3B and 12× at 13B; one 80 GB GPU fits OPT-30B with MeZO, and OPT-2.7B with Adam.
  Assumed: fp16 weights, batch 1, 400 tokens; fine-tuning as mixed-precision AdamW.
* Llama 2 7B/13B/70B: no published measurement of these methods' memory is known to us; the rows show the
  projection alone (16 bytes per parameter for mixed-precision AdamW is arithmetic, not a measurement).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from _common import emit

from backend.estimates import memory, shapes

GB = 1e9
TOLERANCE_PCT = 15.0
CARD_GB = 80.0


@dataclass(frozen=True)
class Setting:
    """A model, the workload a paper measured it under, and what the paper published."""

    model: str
    dtype: str
    batch_size: int
    seq_len: int
    published_gb: dict[str, float]  # method -> GB measured by the paper
    source: str


SETTINGS = (
    Setting(
        "FacebookAI/roberta-large",
        "float32",
        64,
        128,
        {"lozo": 2.84, "lozo_m": 2.85, "mezo": 3.0},
        "LOZO paper",
    ),
    Setting("facebook/opt-1.3b", "float16", 1, 400, {}, "MeZO paper"),
    Setting("facebook/opt-2.7b", "float16", 1, 400, {}, "MeZO paper"),
    Setting("facebook/opt-13b", "float16", 1, 400, {}, "MeZO paper"),
    Setting("facebook/opt-30b", "float16", 1, 400, {}, "MeZO paper"),
    Setting("meta-llama/Llama-2-7b-hf", "bfloat16", 8, 512, {}, "none known"),
    Setting("meta-llama/Llama-2-13b-hf", "bfloat16", 8, 512, {}, "none known"),
    Setting("meta-llama/Llama-2-70b-hf", "bfloat16", 8, 512, {}, "none known"),
)
METHODS = ("lozo", "lozo_m", "mezo", "lora", "adamw")
# MeZO paper: full fine-tuning's memory over MeZO's, per model
PUBLISHED_FT_OVER_MEZO = {"facebook/opt-1.3b": 7.0, "facebook/opt-13b": 12.0}
# MeZO paper: what one 80 GB card fits
PUBLISHED_FITS_ONE_CARD = {("facebook/opt-30b", "mezo"): True, ("facebook/opt-2.7b", "adamw"): True}


def project(setting: Setting, method: str) -> float:
    """Projected GB of ``method`` on ``setting``'s model and workload (CUDA, the product's default recipe)."""
    shape = shapes.model_shape(setting.model)
    recipe = "mixed" if memory.DTYPE_BYTES[setting.dtype] < 4 else "pure"
    work = memory.Workload(
        dtype=setting.dtype,
        batch_size=setting.batch_size,
        seq_len=setting.seq_len,
        eval_batch_size=setting.batch_size,
        recipe=recipe,
        device_kind="cuda",
    )
    return memory.estimate(shape, method, work).total / GB


def rows() -> list[dict]:
    out = []
    for setting in SETTINGS:
        by_method = {m: project(setting, m) for m in METHODS}
        for method, gb in by_method.items():
            published = setting.published_gb.get(method)
            error_pct = round(100 * (gb - published) / published, 1) if published else None
            row = {
                "model": setting.model,
                "method": method,
                "dtype": setting.dtype,
                "recipe": "mixed" if method in ("adamw", "lora") and setting.dtype != "float32" else "pure",
                "batch_x_seq": f"{setting.batch_size}x{setting.seq_len}",
                "memory_gb": round(gb, 2),
                "published_gb": published,
                "error_pct": error_pct,
                "check": None,
                "source": setting.source if published else None,
            }
            fits = PUBLISHED_FITS_ONE_CARD.get((setting.model, method))
            if fits is not None:
                ok = (gb <= CARD_GB) == fits
                row["check"] = (
                    f"fits one 80 GB card: published yes, projected {'yes' if gb <= CARD_GB else 'no'}"
                )
                row["check_ok"] = ok
                row["source"] = setting.source
            ratio = PUBLISHED_FT_OVER_MEZO.get(setting.model)
            if ratio is not None and method == "adamw":
                ours = gb / by_method["mezo"]
                row["check"] = f"fine-tuning / MeZO: published {ratio:g}x, projected {ours:.1f}x"
                row["check_ok"] = abs(ours - ratio) / ratio <= TOLERANCE_PCT / 100
                row["source"] = setting.source
            if error_pct is not None:
                row["check_ok"] = abs(error_pct) <= TOLERANCE_PCT
            out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    args = parser.parse_args(argv)
    columns = (
        "model",
        "method",
        "dtype",
        "recipe",
        "batch_x_seq",
        "memory_gb",
        "published_gb",
        "error_pct",
        "check",
        "check_ok",
    )
    emit(rows(), columns, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
