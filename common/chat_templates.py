"""A pair as a model will see it: rendered with the model's chat template, or as plain text without one.

Pure Python with jinja2, no transformers: the web process shows the rendering without loading a tokenizer.
The template is the Jinja string Hugging Face tokenizers keep in ``tokenizer_config.json`` (``chat_template``)
or, as newer versions save it, in ``chat_template.jinja`` beside it. It is rendered the way
``transformers`` renders it (a sandboxed environment, ``trim_blocks`` and ``lstrip_blocks``, the special
tokens as variables, ``raise_exception``), so what is shown is what the tokenizer would produce.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from common.pairs import Pair

# Between prompt and completion for a model without a chat template.
PLAIN_SEPARATOR = "\n"
# A template longer than this is refused unread: real ones are a few kilobytes.
MAX_TEMPLATE_CHARS = 200_000
_SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "pad_token")


class ChatTemplateError(ValueError):
    """The template could not be read or rendered; the message says why, for a person."""


@dataclass(frozen=True)
class ChatTemplate:
    source: str
    special_tokens: dict[str, str]


@dataclass(frozen=True)
class Rendered:
    """``prompt``: what the model is given (with the chat template, up to the assistant's turn opening);
    ``text``: the whole example it is trained on; ``templated``: whether a chat template made them."""

    prompt: str
    text: str
    templated: bool


def _token_text(value: Any) -> str | None:
    # tokenizer_config.json writes a special token as a string or as an AddedToken {"content": ...}.
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def _template_text(value: Any) -> str | None:
    # A string, or a list of named templates ({"name", "template"}) of which "default" is the chat one.
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        named = {t.get("name"): t.get("template") for t in value if isinstance(t, dict)}
        chosen = named.get("default")
        return chosen if isinstance(chosen, str) else None
    return None


def read_chat_template(folder: Path) -> ChatTemplate | None:
    """The chat template of the model in ``folder``, or None when it has none."""
    config_path = folder / "tokenizer_config.json"
    config: dict[str, Any] = {}
    if config_path.is_file():
        try:
            loaded = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ChatTemplateError(f"tokenizer_config.json is not readable JSON: {exc}") from exc
        config = loaded if isinstance(loaded, dict) else {}
    source = _template_text(config.get("chat_template"))
    jinja_file = folder / "chat_template.jinja"
    if source is None and jinja_file.is_file():
        source = jinja_file.read_text(encoding="utf-8")
    if source is None:
        return None
    if len(source) > MAX_TEMPLATE_CHARS:
        raise ChatTemplateError(f"the chat template is over {MAX_TEMPLATE_CHARS} characters")
    tokens = {name: text for name in _SPECIAL_TOKENS if (text := _token_text(config.get(name))) is not None}
    return ChatTemplate(source, tokens)


def _raise_exception(message: str) -> NoReturn:
    raise TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


@lru_cache(maxsize=32)
def _compiled(source: str):
    # Sandboxed: a template is data from a model folder and must not reach Python objects beyond its input.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(source)
    except TemplateError as exc:
        raise ChatTemplateError(f"the chat template does not compile: {exc}") from exc


def conversation(pair: Pair) -> list[dict[str, str]]:
    """The pair as chat turns: its own turns when it came from a chat file, else one user turn."""
    turns = pair.messages if pair.messages is not None else (("user", pair.prompt),)
    return [{"role": role, "content": content} for role, content in turns]


def render_pair(pair: Pair, template: ChatTemplate | None) -> Rendered:
    """``pair`` as the model sees it: through ``template``, or as prompt and completion on their own lines."""
    if template is None:
        return Rendered(pair.prompt, pair.prompt + PLAIN_SEPARATOR + pair.completion, templated=False)
    compiled = _compiled(template.source)
    before = conversation(pair)
    whole = [*before, {"role": "assistant", "content": pair.completion}]
    try:
        prompt = compiled.render(messages=before, add_generation_prompt=True, **template.special_tokens)
        text = compiled.render(messages=whole, add_generation_prompt=False, **template.special_tokens)
    except TemplateError as exc:
        raise ChatTemplateError(f"the chat template failed on this example: {exc}") from exc
    return Rendered(prompt, text, templated=True)
