"""The memory model against hand-computed cases."""

import pytest

from backend.estimates import memory, shapes
from backend.estimates.memory import Workload, estimate

MINILM_PARAMS = 22_713_216  # BertModel with pooler, from the embedded config (6 layers, 384 hidden)
BERT_BASE = {
    "model_type": "bert",
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "vocab_size": 30522,
    "max_position_embeddings": 512,
}


@pytest.fixture(scope="module")
def minilm():
    return shapes.model_shape("minilm")


def test_minilm_parameter_count(minilm):
    assert minilm.n_params == MINILM_PARAMS
    assert (minilm.n_layers, minilm.hidden_size, minilm.n_heads) == (6, 384, 12)
    # the word embedding (30522 x 384) is the largest tensor: MeZO's noise temporary
    assert minilm.largest_tensor == 30522 * 384
    assert minilm.kind == "encoder"


def test_bert_base_parameter_count(tmp_path):
    import json

    (tmp_path / "config.json").write_text(json.dumps(BERT_BASE))
    shape = shapes.model_shape(str(tmp_path))
    assert shape.n_params == 109_482_240  # the well-known 109.48M of bert-base-uncased
    assert round(shape.n_params / 1e6, 2) == 109.48


def test_presets_have_their_published_sizes():
    assert round(shapes.model_shape("1b").n_params / 1e9, 2) == 1.32  # OPT-1.3B (tied LM head)
    assert round(shapes.model_shape("7b").n_params / 1e9, 2) == 6.74  # Llama-2-7B
    assert round(shapes.model_shape("13b").n_params / 1e9, 2) == 13.02
    assert round(shapes.model_shape("70b").n_params / 1e9, 1) == 69.0


def test_adamw_fp32_is_sixteen_bytes_per_parameter(minilm):
    e = estimate(minilm, "adamw", Workload(dtype="float32"))
    b = e.bytes
    assert b["weights"] + b["gradients"] + b["optimizer_states"] == 16 * MINILM_PARAMS
    assert b["low_rank_factors"] == b["noise"] == 0
    assert b["step_workspace"] == 4 * MINILM_PARAMS  # foreach AdamW's full-size intermediate


def test_terms_per_method_by_hand(minilm):
    w = Workload(dtype="float32", rank=2, device_kind="cuda")
    p = MINILM_PARAMS
    inference = estimate(minilm, "inference", w).bytes
    assert inference["weights"] == 4 * p and inference["gradients"] == inference["optimizer_states"] == 0
    mezo = estimate(minilm, "mezo", w).bytes
    assert mezo["noise"] == 4 * 30522 * 384  # z of the biggest tensor only
    # on CPU the engine fills z in chunks straight into the weights
    assert estimate(minilm, "mezo", Workload(device_kind="cpu")).bytes["noise"] == 4 * memory.CPU_NOISE_CHUNK
    lozo = estimate(minilm, "lozo", w).bytes
    assert lozo["low_rank_factors"] == 4 * 2 * minilm.matrix_cols  # V (n x r) per matrix
    assert lozo["noise"] == 4 * 2 * minilm.matrix_rows  # the step's U factors (m x r per matrix)
    lozo_m = estimate(minilm, "lozo_m", w).bytes
    assert lozo_m["optimizer_states"] == 4 * (2 * minilm.matrix_rows + minilm.vector_params)
    sgd = estimate(minilm, "sgd", w).bytes
    assert sgd["gradients"] == 4 * p and sgd["optimizer_states"] == 0
    # ZO keeps no graph: its activations are the inference ones; backprop keeps every layer's
    assert mezo["activations"] == lozo["activations"] == inference["activations"]
    assert sgd["activations"] > 2 * inference["activations"]  # even against a 4x larger evaluation batch
    for method in memory.estimable_methods():
        b = estimate(minilm, method, w).bytes
        assert b["total"] == sum(b[t] for t in memory.TERMS)


def test_activations_by_hand(minilm):
    w = Workload(dtype="float32", batch_size=16, seq_len=64, eval_batch_size=16)
    t = 16 * 64
    per_layer = 8 * t * 384 + 2 * t * 1536 + 2 * 12 * 64 * 64 * 16
    saved, peak = memory.layer_activation_elements(minilm, 64, 16)
    assert saved == per_layer
    # attention peak 10·T·h + 2·a·s²·b = 3,932,160 + 1,572,864; the MLP's 3·T·h + 2·T·I = 4,325,376 is smaller
    assert peak == 10 * t * 384 + 2 * 12 * 64 * 64 * 16
    assert memory.activation_bytes(minilm, w, backprop=True) == 4 * (7 * per_layer + 2 * t * 384)
    assert memory.activation_bytes(minilm, w, backprop=False) == 4 * (peak + 2 * t * 384)
    # the evaluation batch (64 by default) sets ZO's peak when it is larger than the training batch
    wide = Workload(dtype="float32", batch_size=16, seq_len=64, eval_batch_size=64)
    assert memory.activation_bytes(minilm, wide, backprop=False) > 3 * memory.activation_bytes(
        minilm, w, False
    )


def test_half_precision_halves_the_parameter_terms(minilm):
    full = estimate(minilm, "adamw", Workload(dtype="float32")).bytes
    half = estimate(minilm, "adamw", Workload(dtype="bfloat16")).bytes
    for term in ("weights", "gradients", "optimizer_states", "activations"):
        assert half[term] * 2 == full[term]


def test_order_of_methods_for_a_large_model():
    shape = shapes.model_shape("7b")
    w = Workload(dtype="bfloat16", batch_size=16, seq_len=256)
    total = {m: estimate(shape, m, w).total for m in memory.estimable_methods()}
    assert (
        total["inference"] < total["lozo"] < total["lozo_m"] < total["mezo"] < total["sgd"] < total["adamw"]
    )
    # MeZO/LOZO need about inference memory (ZO-SPEC): within a few percent
    assert total["lozo"] / total["inference"] < 1.05


def test_cpu_adds_the_runtime_baseline_and_cuda_does_not(minilm):
    cpu = estimate(minilm, "lozo", Workload(device_kind="cpu")).bytes
    cuda = estimate(minilm, "lozo", Workload(device_kind="cuda")).bytes
    assert cpu["runtime"] == memory.CPU_RUNTIME_BYTES and cuda["runtime"] == 0
    assert cpu["total"] - cuda["total"] == memory.CPU_RUNTIME_BYTES


def test_bad_inputs_raise(minilm):
    with pytest.raises(ValueError, match="unknown method"):
        estimate(minilm, "adam", Workload())
    with pytest.raises(ValueError, match="unknown dtype"):
        Workload(dtype="int8")
    with pytest.raises(shapes.UnknownModel):
        shapes.model_shape("no-such-org/no-such-model-xyz")


def test_config_hash_ignores_bookkeeping_fields():
    a = shapes.config_hash({"hidden_size": 8, "transformers_version": "4.1", "_name_or_path": "x"})
    b = shapes.config_hash({"hidden_size": 8, "transformers_version": "5.0"})
    assert a == b != shapes.config_hash({"hidden_size": 9})


def test_generation_adds_the_kv_cache_of_greedy_evaluation():
    from backend.estimates import memory, shapes

    smollm = shapes.model_shape("smollm2-135m")
    # grouped-query attention: 3 of SmolLM2-135M's 9 heads of 64 have keys and values
    assert (smollm.n_layers, smollm.hidden_size, smollm.kv_width) == (30, 576, 192)
    classify = memory.Workload(seq_len=96, eval_batch_size=64, device_kind="cpu")
    generate = memory.Workload(seq_len=96, eval_batch_size=64, device_kind="cpu", max_new_tokens=24)
    kv = memory.estimate(smollm, "lozo", generate).bytes["kv_cache"]
    # K and V, 30 layers, 64 prompts, 96 + 24 positions, 192 values each, float32
    assert kv == 2 * 30 * 64 * (96 + 24) * 192 * 4 == 353_894_400
    assert memory.estimate(smollm, "lozo", classify).bytes["kv_cache"] == 0
    assert (
        memory.estimate(smollm, "lozo", generate).total - memory.estimate(smollm, "lozo", classify).total
        == kv
    )
    # an encoder generates nothing
    assert memory.estimate(shapes.model_shape("minilm"), "lozo", generate).bytes["kv_cache"] == 0
