"""Model loading: local Hugging Face folders (the real loading code, offline), kinds, parameter counts."""

import pytest
import torch

from worker.train.models import count_parameters, load_model


@pytest.mark.parametrize("tiny,kind", [("tiny-bert", "encoder"), ("tiny-gpt2", "decoder")])
def test_local_folder_loads_like_a_hub_model(tmp_path, tiny, kind):
    built = load_model(tiny, 2, ["terrible", "great"], device="cpu", seed=3)
    inner = built.model.encoder if kind == "encoder" else built.model.lm
    inner.save_pretrained(tmp_path)
    built.tokenizer.save_pretrained(tmp_path)
    loaded = load_model(str(tmp_path), 2, ["terrible", "great"], device="cpu", seed=3)
    assert loaded.kind == kind
    reloaded_inner = loaded.model.encoder if kind == "encoder" else loaded.model.lm
    a, b = inner.state_dict(), reloaded_inner.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in b)
    enc = loaded.encode(["a fine film", "bad"])
    assert loaded.model(**enc).shape == (2, 2)


def test_decoder_prompt_keeps_template_end_when_truncating():
    loaded = load_model("tiny-gpt2", 2, ["terrible", "great"], device="cpu", max_length=8)
    enc = loaded.encode(["word " * 50, "short"])
    assert enc["input_ids"].shape[1] == 8
    was = loaded.tokenizer.encode(" was", add_special_tokens=False)[-1]
    last = enc["attention_mask"].sum(1) - 1
    assert enc["input_ids"][0, last[0]].item() == was and enc["input_ids"][1, last[1]].item() == was


def test_unknown_local_model_fails_without_download(tmp_path):
    with pytest.raises(OSError):
        load_model("no-such-org/no-such-model-zopoc", 2, ["a", "b"], device="cpu")


def test_parameter_count_counts_tied_weights_once():
    loaded = load_model("tiny-gpt2", 2, ["terrible", "great"], device="cpu")
    lm = loaded.model.lm
    assert lm.get_output_embeddings().weight is lm.get_input_embeddings().weight
    assert count_parameters(loaded.model) == sum(p.numel() for p in set(loaded.model.parameters()))


def _tiny_opt():
    from transformers import OPTConfig, OPTForCausalLM

    return OPTForCausalLM(
        OPTConfig(
            vocab_size=30522,
            hidden_size=16,
            num_hidden_layers=1,
            ffn_dim=32,
            num_attention_heads=2,
            word_embed_proj_dim=8,
            max_position_embeddings=64,
        )
    )


def _tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(
        LlamaConfig(
            vocab_size=30522,
            hidden_size=16,
            num_hidden_layers=1,
            intermediate_size=32,
            num_attention_heads=2,
            num_key_value_heads=2,
        )
    )


@pytest.mark.parametrize("family", ["gpt2", "opt", "llama"])
def test_prompt_classifier_reads_the_lm_logits_of_the_label_words(family):
    """The shortcut (last hidden state × label rows of the LM head) equals the full LM's next-token logits."""
    from worker.train.models import PromptClassifier

    base = load_model("tiny-gpt2", 2, ["terrible", "great"], device="cpu")
    enc = base.encode(["a good film", "bad"])
    lm = {"gpt2": lambda: base.model.lm, "opt": _tiny_opt, "llama": _tiny_llama}[family]().eval()
    classifier = PromptClassifier(lm, base.model.label_token_ids.tolist())
    with torch.no_grad():
        full = lm(**enc).logits
        last = enc["attention_mask"].sum(1) - 1
        expected = full[torch.arange(2), last][:, classifier.label_token_ids]
        assert torch.allclose(classifier(**enc), expected, atol=1e-5)
