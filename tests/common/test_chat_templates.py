"""Chat templates read from a model folder and rendered the way a Hugging Face tokenizer renders them."""

from __future__ import annotations

import json

import pytest

from common.chat_templates import ChatTemplate, ChatTemplateError, read_chat_template, render_pair
from common.pairs import Pair

# A small template in the style of real ones: block tags on lines of their own, some indented (trim_blocks
# and lstrip_blocks remove those lines' indentation and newlines), the special tokens as variables.
TEMPLATE = """{{ bos_token }}
{%- for message in messages %}
<|{{ message['role'] }}|>
{{ message['content'] }}{{ eos_token }}
    {% endfor %}
{% if add_generation_prompt %}
<|assistant|>
    {% endif %}"""


def write_config(folder, **config) -> None:
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")


def test_a_pair_renders_through_the_template_of_tokenizer_config(tmp_path):
    write_config(
        tmp_path, chat_template=TEMPLATE, bos_token="<s>", eos_token={"content": "</s>", "lstrip": False}
    )
    template = read_chat_template(tmp_path)
    assert template is not None and template.special_tokens == {"bos_token": "<s>", "eos_token": "</s>"}
    rendered = render_pair(Pair("Capital of France?", "Paris"), template)
    assert rendered.templated
    assert rendered.prompt == "<s><|user|>\nCapital of France?</s>\n<|assistant|>\n"
    assert rendered.text == "<s><|user|>\nCapital of France?</s>\n<|assistant|>\nParis</s>\n"


def test_a_chat_pair_renders_its_own_turns(tmp_path):
    write_config(tmp_path, chat_template=TEMPLATE, bos_token="", eos_token="")
    pair = Pair("ignored when turns are kept", "Bye", (("system", "Be brief."), ("user", "Hi")))
    rendered = render_pair(pair, read_chat_template(tmp_path))
    assert rendered.text == "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\nBye\n"


def test_the_template_file_beside_the_config_is_read_when_the_config_has_none(tmp_path):
    write_config(tmp_path, eos_token="<|im_end|>")
    (tmp_path / "chat_template.jinja").write_text("{% for m in messages %}[{{ m.content }}]{% endfor %}")
    template = read_chat_template(tmp_path)
    assert template == ChatTemplate(
        "{% for m in messages %}[{{ m.content }}]{% endfor %}", {"eos_token": "<|im_end|>"}
    )
    assert render_pair(Pair("q", "a"), template).text == "[q][a]"


def test_named_templates_use_the_default_one(tmp_path):
    write_config(
        tmp_path, chat_template=[{"name": "tool_use", "template": "x"}, {"name": "default", "template": "d"}]
    )
    template = read_chat_template(tmp_path)
    assert template is not None and template.source == "d"


def test_without_a_template_the_pair_is_plain_text(tmp_path):
    write_config(tmp_path, eos_token="</s>")
    assert read_chat_template(tmp_path) is None
    rendered = render_pair(Pair("2 + 2 =", "4"), None)
    assert (rendered.prompt, rendered.text, rendered.templated) == ("2 + 2 =", "2 + 2 =\n4", False)


@pytest.mark.parametrize(
    "source,fragment",
    [
        ("{% if messages|length > 1 %}{{ raise_exception('one turn only') }}{% endif %}", "one turn only"),
        ("{{ messages.__class__.__mro__[1].__subclasses__() }}", "failed on this example"),
        ("{% for %}", "does not compile"),
    ],
)
def test_a_failing_or_unsafe_template_is_a_chat_template_error(source, fragment):
    with pytest.raises(ChatTemplateError, match=fragment):
        render_pair(Pair("q", "a"), ChatTemplate(source, {}))


def test_an_unreadable_config_is_a_chat_template_error(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ChatTemplateError, match="not readable JSON"):
        read_chat_template(tmp_path)
