"""Prompt-based classification on tiny models: full log-probability of several-token label words against a
hand computation, refused label words, truncation, the masked-LM path, and calibration."""

import pytest
import torch

from common.prompts import Prompt, PromptError
from worker.train.calibration import bias_from_probabilities, calibrate
from worker.train.models import load_model
from worker.train.prompting import MaskedPromptClassifier, PromptClassifier, PromptEncoder

TEXTS = ["a gorgeous , witty film", "one long string of cliches", "bad"]


def _minilm_tokenizer():
    from transformers import AutoTokenizer

    from worker.train.models import minilm_path

    return AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)


def _tiny_lm(family: str):
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        OPTConfig,
        OPTForCausalLM,
    )

    torch.manual_seed(0)
    if family == "gpt2":
        return GPT2LMHeadModel(GPT2Config(vocab_size=30522, n_embd=16, n_layer=2, n_head=2, n_positions=128))
    if family == "opt":
        return OPTForCausalLM(
            OPTConfig(
                vocab_size=30522,
                hidden_size=16,
                num_hidden_layers=2,
                ffn_dim=32,
                num_attention_heads=2,
                word_embed_proj_dim=16,
                max_position_embeddings=128,
            )
        )
    return LlamaForCausalLM(
        LlamaConfig(
            vocab_size=30522,
            hidden_size=16,
            num_hidden_layers=2,
            intermediate_size=32,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=128,
        )
    )


def _hand_log_probability(lm, prompt_ids: list[int], word_ids: list[int]) -> float:
    """log p(word | prompt) from one full forward pass over prompt + word, token by token."""
    with torch.no_grad():
        logits = lm(torch.tensor([prompt_ids + word_ids])).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    return sum(logp[len(prompt_ids) - 1 + j, t].item() for j, t in enumerate(word_ids))


@pytest.mark.parametrize("family", ["gpt2", "opt", "llama"])
def test_several_token_label_words_score_their_full_log_probability(family):
    tok = _minilm_tokenizer()
    prompt = Prompt("sentiment", "en", "{text} It was {mask}.", ["very bad", "really quite good", "fine"])
    encoder = PromptEncoder(tok, prompt, max_length=64, masked_lm=False)
    assert [len(t) for t in prompt.label_tokens] == [2, 3, 1]
    lm = _tiny_lm(family).eval()
    classifier = PromptClassifier(lm, prompt.label_tokens).eval()
    with torch.no_grad():
        scores = classifier(**encoder.encode(TEXTS, torch.device("cpu")))
    for i, text in enumerate(TEXTS):
        for c, word_ids in enumerate(prompt.label_tokens):
            expected = _hand_log_probability(lm, encoder.prompt_ids(text), word_ids)
            assert scores[i, c].item() == pytest.approx(expected, abs=1e-4)


def test_single_token_words_rank_classes_exactly_as_their_log_probabilities():
    """The cheap path reads logits of the label rows only: same softmax over classes as the log-probabilities."""
    tok = _minilm_tokenizer()
    prompt = Prompt("sentiment", "en", "{text} It was {mask}.", ["terrible", "great"])
    encoder = PromptEncoder(tok, prompt, max_length=64, masked_lm=False)
    lm = _tiny_lm("llama").eval()
    classifier = PromptClassifier(lm, prompt.label_tokens).eval()
    assert classifier.single_token
    with torch.no_grad():
        scores = classifier(**encoder.encode(TEXTS, torch.device("cpu")))
    hand = torch.tensor(
        [[_hand_log_probability(lm, encoder.prompt_ids(t), w) for w in prompt.label_tokens] for t in TEXTS]
    )
    assert torch.allclose(torch.softmax(scores, -1), torch.softmax(hand, -1), atol=1e-5)


def test_label_words_that_are_the_same_tokens_are_refused():
    tok = _minilm_tokenizer()  # lower-cases: "Great" and "great" are one token
    with pytest.raises(PromptError, match="are the same tokens"):
        PromptEncoder(tok, Prompt("sentiment", "en", "{text} It was {mask}.", ["Great", "great"]), 64, False)


def test_words_that_share_only_a_first_token_are_told_apart():
    tok = _minilm_tokenizer()
    prompt = Prompt("sentiment", "en", "{text} It was {mask}.", ["very bad", "very good"])
    PromptEncoder(tok, prompt, 64, False)
    assert (
        prompt.label_tokens[0][0] == prompt.label_tokens[1][0]
        and prompt.label_tokens[0] != prompt.label_tokens[1]
    )
    lm = _tiny_lm("gpt2").eval()
    with torch.no_grad():
        scores = PromptClassifier(lm, prompt.label_tokens)(
            **PromptEncoder(tok, prompt, 64, False).encode(TEXTS, torch.device("cpu"))
        )
    assert not torch.allclose(scores[:, 0], scores[:, 1])


def test_truncation_cuts_the_text_and_keeps_the_template():
    tok = _minilm_tokenizer()
    prompt = Prompt("pair", "en", "{text_a} Question: {text_b}? Answer: {mask}.", ["yes", "no"])
    encoder = PromptEncoder(tok, prompt, max_length=16, masked_lm=False)
    ids = encoder.prompt_ids(("word " * 40, "is it short"))
    assert len(ids) == 16
    assert tok.decode(ids).endswith("word question : is it short? answer :")
    with pytest.raises(PromptError, match="template alone"):
        PromptEncoder(tok, prompt, max_length=4, masked_lm=False).prompt_ids(("a", "b"))


@pytest.fixture(scope="module")
def tiny_mlm_folder(tmp_path_factory):
    """A tiny random BertForMaskedLM saved with MiniLM's tokenizer: a masked LM as a user would bring one."""
    from transformers import BertConfig, BertForMaskedLM

    folder = tmp_path_factory.mktemp("tiny-mlm")
    torch.manual_seed(1)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertForMaskedLM(config).save_pretrained(folder)
    _minilm_tokenizer().save_pretrained(folder)
    return folder


def test_a_masked_lm_is_read_at_its_mask_token(tiny_mlm_folder):
    loaded = load_model(str(tiny_mlm_folder), 2, ["terrible", "great"], device="cpu")
    assert isinstance(loaded.model, MaskedPromptClassifier) and loaded.scoring == "mask"
    enc = loaded.encode(TEXTS)
    tok = loaded.tokenizer
    assert (
        tok.decode(enc["input_ids"][0][enc["attention_mask"][0].bool()])
        == "[CLS] a gorgeous, witty film it was [MASK]. [SEP]"
    )
    with torch.no_grad():
        scores = loaded.model(**enc)
        full = loaded.model.mlm(**enc).logits
    at = (enc["input_ids"] == tok.mask_token_id).int().argmax(1)
    words = tok.convert_tokens_to_ids(["terrible", "great"])
    assert torch.allclose(scores, full[torch.arange(3), at][:, words], atol=1e-5)


def test_a_masked_lm_refuses_a_label_word_of_several_tokens(tiny_mlm_folder):
    prompt = Prompt("sentiment", "en", "{text} It was {mask}.", ["terrible", "unwatchably great"])
    with pytest.raises(PromptError, match="single token"):
        load_model(str(tiny_mlm_folder), 2, [], device="cpu", prompt=prompt)


def test_the_mlm_template_may_put_the_mask_first(tiny_mlm_folder):
    prompt = Prompt("topic", "en", "{mask} news: {text}", ["sports", "business"])
    loaded = load_model(str(tiny_mlm_folder), 2, [], device="cpu", prompt=prompt, max_length=12)
    enc = loaded.encode(["word " * 40])
    assert enc["input_ids"].shape[1] == 12 and enc["input_ids"][0, 1].item() == loaded.tokenizer.mask_token_id


class _ConstantBias:
    """Scores = a weak real signal ("good" +1 / "bad" −1 / else 0) plus a constant preference for class 1."""

    def __call__(self, input_ids, attention_mask):
        signal = []
        for row in input_ids.tolist():
            text = TOKENIZER.decode(row)
            signal.append(1.0 if "good" in text else -1.0 if "bad" in text else 0.0)
        s = torch.tensor(signal)
        return torch.stack([-s, s], dim=1) + torch.tensor([0.0, 5.0])


TOKENIZER = _minilm_tokenizer()


@pytest.mark.parametrize("mode", ["content_free", "contextual"])
def test_calibration_balances_a_constant_bias_models_predictions(mode):
    loaded = load_model("tiny-gpt2", 2, ["terrible", "great"], device="cpu")
    loaded.model.scores = _ConstantBias()  # instance attribute: forward() calls it too
    texts = ["a good film", "a bad film"] * 10
    with torch.no_grad():
        before = loaded.model(**loaded.encode(texts)).argmax(1)
    assert before.tolist() == [1] * 20  # the bias wins everywhere
    info = calibrate(loaded, mode, train_examples=texts)
    assert info["calibration"] == mode and len(info["class_bias"]) == 2
    with torch.no_grad():
        after = loaded.model(**loaded.encode(texts)).argmax(1)
    assert after.tolist() == [1, 0] * 10  # the signal decides: balanced predictions


def test_bias_is_minus_the_log_of_the_mean_probabilities_centred():
    bias = bias_from_probabilities(torch.tensor([0.2, 0.8]))
    assert torch.allclose(bias, torch.tensor([0.6931, -0.6931]), atol=1e-4)
    assert torch.allclose(
        torch.softmax(torch.log(torch.tensor([0.2, 0.8])) + bias, -1), torch.tensor([0.5, 0.5])
    )


def test_calibration_none_and_encoders_with_a_head_leave_scores_alone():
    loaded = load_model("tiny-gpt2", 2, ["terrible", "great"], device="cpu")
    assert calibrate(loaded, "none", [])["calibration"] == "none"
    assert torch.equal(loaded.model.class_bias, torch.zeros(2))
    encoder = load_model("tiny-bert", 2, ["terrible", "great"], device="cpu")
    assert calibrate(encoder, "content_free", ["x"]) == {"calibration": "none", "class_bias": None}
