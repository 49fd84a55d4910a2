#!/usr/bin/env python3
"""Tiny random checkpoints in each decoder family's exact Hugging Face layout.

Writes tests/fixtures/hf/tiny/<name>/ with what `save_pretrained` + a tokenizer's `save_pretrained`
leave on disk for that `model_type`:

    config.json             the fields transformers' <Family>Config writes (sorted keys, as to_json_string does)
    model.safetensors       HF tensor names and shapes (F32; llama-bf16 BF16, pythia-f16 F16) (or model-0000k-of-0000n.safetensors + model.safetensors.index.json)
    tokenizer.json          a small byte-level BPE (256 bytes + learned merges + special tokens)
    tokenizer_config.json   bos/eos/pad/unk, added_tokens_decoder, chat_template where the family's chat models have one
    expected-losses.json    per-token losses from scripts/hf_reference.py (float64 numpy, transformers' formulas)

Tensor names and layouts, read from transformers' modeling files:
  gpt2      transformer.{wte,wpe,h.N.{ln_1,attn.c_attn,attn.c_proj,ln_2,mlp.c_fc,mlp.c_proj},ln_f}; Conv1D weights are
            (in, out); lm_head tied and so not saved; the attn.bias / attn.masked_bias causal-mask buffers are
            registered persistent=False in current transformers (they are in old hub files, not in new saves).
  gpt_neo   transformer.h.N.attn.attention.{q,k,v}_proj (no bias), out_proj (bias); mlp.c_fc/c_proj are nn.Linear
            (out, in); tied head; the mask buffers are persistent=False.
  gpt_neox  gpt_neox.{embed_in,layers.N.{input_layernorm,post_attention_layernorm,attention.query_key_value,
            attention.dense,mlp.dense_h_to_4h,mlp.dense_4h_to_h},final_layer_norm}, embed_out (untied).
  llama/qwen2/qwen3  model.{embed_tokens,layers.N.{input_layernorm,self_attn.{q,k,v,o}_proj,post_attention_layernorm,
            mlp.{gate,up,down}_proj},norm}, lm_head when untied; qwen2 q/k/v bias; qwen3 self_attn.{q,k}_norm (head_dim,).

Deterministic: one numpy Generator per fixture, seeded from a fixed seed and the fixture's name.
Run: python3 scripts/make-tiny-checkpoints.py   (numpy only). Then commit tests/fixtures/hf.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import sys
from collections import Counter

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "fixtures", "hf")
SEED = 20261202
TRANSFORMERS_VERSION = "4.46.3"

VOCAB = 288  # model vocabulary (padded past the tokenizer's 283 entries, as real checkpoints often are)
CTX = 64

# --------------------------------------------------------------------------------------------------
# tokenizer.json: byte-level BPE (the GPT-2 scheme: bytes_to_unicode alphabet, ByteLevel pre-tokenizer/decoder)
# --------------------------------------------------------------------------------------------------

TOKENIZER_CORPUS = (
    "the cat sat on the mat. the dog ate the bone. then the cat and the dog sat there together, "
    "and the sun set on the hill. there is a thing in the theatre that the other thinks is the best. "
    "In the morning they went out, and in the evening they came back to the house on the hill."
)
N_MERGES = 24
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable-unicode map (openai/gpt-2 encoder.py, tokenizers' ByteLevel)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def make_tokenizer() -> dict:
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    # pre-tokenize roughly as GPT-2's regex does (a leading space sticks to the word), then learn merges
    words = Counter(re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+", TOKENIZER_CORPUS))
    seqs = {w: [b2u[b] for b in w.encode("utf-8")] for w in words}
    merges: list[list[str]] = []
    for _ in range(N_MERGES):
        pairs: Counter = Counter()
        for w, count in words.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += count
        # most frequent pair; ties broken by the pair itself so the result never depends on dict order
        (a, b), _n = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        merges.append([a, b])
        vocab[a + b] = len(vocab)
        for w in words:
            s, out, i = seqs[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    added = []
    for tok in SPECIAL:
        tid = len(vocab)
        vocab[tok] = tid
        added.append(
            {"id": tid, "content": tok, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        )
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }


# ChatML, the template SmolLM2-Instruct / Qwen2.5 / Qwen3 ship (without their default system prompts)
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def tokenizer_config(tok: dict, bos: str | None, eos: str, pad: str | None, unk: str | None, cls: str, chat: bool) -> dict:
    cfg: dict = {
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(t["id"]): {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
            for t in tok["added_tokens"]
        },
        "bos_token": bos,
        "clean_up_tokenization_spaces": False,
        "eos_token": eos,
        "model_max_length": CTX,
        "pad_token": pad,
        "tokenizer_class": cls,
        "unk_token": unk,
    }
    if chat:
        cfg["chat_template"] = CHATML
    return dict(sorted(cfg.items()))


# --------------------------------------------------------------------------------------------------
# safetensors writer (the format: u64 LE header length, JSON header padded with spaces to 8 bytes, data)
# --------------------------------------------------------------------------------------------------


def f32_to_bf16_bits(a: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 to nearest, ties to even (what torch's .to(torch.bfloat16) does)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def write_safetensors(path: str, tensors: dict[str, np.ndarray], dtype: str) -> int:
    """Tensors sorted by name (the safetensors serializer orders by dtype alignment, then name). Returns data bytes."""
    header: dict = {"__metadata__": {"format": "pt"}}
    blobs = []
    off = 0
    for name in sorted(tensors):
        a = tensors[name]
        if dtype == "BF16":
            raw = f32_to_bf16_bits(a).astype("<u2").tobytes()
        elif dtype == "F16":
            raw = a.astype("<f2").tobytes()  # IEEE half, round to nearest even (torch's .half())
        else:
            raw = a.astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return off


# --------------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------------


class Init:
    """Random weights large enough that every op moves the loss (a model at init std 0.02 predicts ~uniform)."""

    def __init__(self, name: str):
        digest = hashlib.sha256(f"{SEED}/{name}".encode()).digest()
        self.rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def linear(self, out_f: int, in_f: int) -> np.ndarray:  # nn.Linear weight (out, in)
        return (self.rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)).astype(np.float32)

    def conv1d(self, in_f: int, out_f: int) -> np.ndarray:  # transformers Conv1D weight (in, out)
        return (self.rng.standard_normal((in_f, out_f)) / np.sqrt(in_f)).astype(np.float32)

    def bias(self, n: int) -> np.ndarray:
        return (0.1 * self.rng.standard_normal(n)).astype(np.float32)

    def norm_w(self, n: int) -> np.ndarray:
        return (1.0 + 0.2 * self.rng.standard_normal(n)).astype(np.float32)

    def embed(self, rows: int, d: int, std: float = 0.25) -> np.ndarray:
        return (std * self.rng.standard_normal((rows, d))).astype(np.float32)


def gpt2_model(name: str) -> tuple[dict, dict]:
    C, L, H = 32, 2, 4
    r = Init(name)
    t: dict[str, np.ndarray] = {"transformer.wte.weight": r.embed(VOCAB, C), "transformer.wpe.weight": r.embed(CTX, C, 0.3)}
    for i in range(L):
        p = f"transformer.h.{i}."
        t[p + "ln_1.weight"], t[p + "ln_1.bias"] = r.norm_w(C), r.bias(C)
        t[p + "attn.c_attn.weight"], t[p + "attn.c_attn.bias"] = r.conv1d(C, 3 * C), r.bias(3 * C)
        t[p + "attn.c_proj.weight"], t[p + "attn.c_proj.bias"] = r.conv1d(C, C), r.bias(C)
        t[p + "ln_2.weight"], t[p + "ln_2.bias"] = r.norm_w(C), r.bias(C)
        t[p + "mlp.c_fc.weight"], t[p + "mlp.c_fc.bias"] = r.conv1d(C, 4 * C), r.bias(4 * C)
        t[p + "mlp.c_proj.weight"], t[p + "mlp.c_proj.bias"] = r.conv1d(4 * C, C), r.bias(C)
    t["transformer.ln_f.weight"], t["transformer.ln_f.bias"] = r.norm_w(C), r.bias(C)
    cfg = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": 280,
        "embd_pdrop": 0.1,
        "eos_token_id": 280,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": CTX,
        "n_embd": C,
        "n_head": H,
        "n_inner": None,
        "n_layer": L,
        "n_positions": CTX,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
    }
    return cfg, t


def gpt2_legacy_model(name: str) -> tuple[dict, dict]:
    """tiny/gpt2's weights as the hub's older GPT-2 files store them (openai-community/gpt2, distilgpt2): names
    without the `transformer.` prefix, plus the causal-mask buffers h.N.attn.bias (1, 1, ctx, ctx) and
    h.N.attn.masked_bias () that GPT2Attention registered as persistent buffers before transformers 4.3x."""
    cfg, t = gpt2_model("gpt2")
    out = {k[len("transformer.") :]: v for k, v in t.items()}
    for i in range(cfg["n_layer"]):
        out[f"h.{i}.attn.bias"] = np.tril(np.ones((CTX, CTX), dtype=np.float32)).reshape(1, 1, CTX, CTX)
        out[f"h.{i}.attn.masked_bias"] = np.array(-1e4, dtype=np.float32)
    return cfg, out


def gpt_neo_model(name: str) -> tuple[dict, dict]:
    C, H = 32, 4
    r = Init(name)
    t = {"transformer.wte.weight": r.embed(VOCAB, C), "transformer.wpe.weight": r.embed(CTX, C, 0.3)}
    for i in range(2):
        p = f"transformer.h.{i}."
        t[p + "ln_1.weight"], t[p + "ln_1.bias"] = r.norm_w(C), r.bias(C)
        for m in ("q_proj", "k_proj", "v_proj"):
            t[p + f"attn.attention.{m}.weight"] = r.linear(C, C)  # bias=False in GPTNeoSelfAttention
        t[p + "attn.attention.out_proj.weight"], t[p + "attn.attention.out_proj.bias"] = r.linear(C, C), r.bias(C)
        t[p + "ln_2.weight"], t[p + "ln_2.bias"] = r.norm_w(C), r.bias(C)
        t[p + "mlp.c_fc.weight"], t[p + "mlp.c_fc.bias"] = r.linear(4 * C, C), r.bias(4 * C)
        t[p + "mlp.c_proj.weight"], t[p + "mlp.c_proj.bias"] = r.linear(C, 4 * C), r.bias(C)
    t["transformer.ln_f.weight"], t["transformer.ln_f.bias"] = r.norm_w(C), r.bias(C)
    cfg = {
        "activation_function": "gelu_new",
        "architectures": ["GPTNeoForCausalLM"],
        "attention_dropout": 0,
        "attention_layers": ["global", "local"],
        "attention_types": [[["global", "local"], 1]],
        "bos_token_id": 280,
        "classifier_dropout": 0.1,
        "embed_dropout": 0,
        "eos_token_id": 280,
        "gradient_checkpointing": False,
        "hidden_size": C,
        "initializer_range": 0.02,
        "intermediate_size": None,
        "layer_norm_epsilon": 1e-05,
        "max_position_embeddings": CTX,
        "model_type": "gpt_neo",
        "num_heads": H,
        "num_layers": 2,
        "resid_dropout": 0,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
        "window_size": 5,  # 256 in TinyStories; 5 so the fixed sequences (up to 33 tokens) cross it
    }
    return cfg, t


def gpt_neox_model(name: str, dtype: str = "float32") -> tuple[dict, dict]:
    C, H, I = 32, 4, 64
    r = Init(name)
    t = {"gpt_neox.embed_in.weight": r.embed(VOCAB, C)}
    for i in range(2):
        p = f"gpt_neox.layers.{i}."
        t[p + "input_layernorm.weight"], t[p + "input_layernorm.bias"] = r.norm_w(C), r.bias(C)
        t[p + "post_attention_layernorm.weight"], t[p + "post_attention_layernorm.bias"] = r.norm_w(C), r.bias(C)
        # output features laid out per head: [h0: q k v, h1: q k v, ...] (view(..., NH, 3*HS) in the modeling code)
        t[p + "attention.query_key_value.weight"], t[p + "attention.query_key_value.bias"] = r.linear(3 * C, C), r.bias(3 * C)
        t[p + "attention.dense.weight"], t[p + "attention.dense.bias"] = r.linear(C, C), r.bias(C)
        t[p + "mlp.dense_h_to_4h.weight"], t[p + "mlp.dense_h_to_4h.bias"] = r.linear(I, C), r.bias(I)
        t[p + "mlp.dense_4h_to_h.weight"], t[p + "mlp.dense_4h_to_h.bias"] = r.linear(C, I), r.bias(C)
    t["gpt_neox.final_layer_norm.weight"], t["gpt_neox.final_layer_norm.bias"] = r.norm_w(C), r.bias(C)
    t["embed_out.weight"] = r.embed(VOCAB, C, 0.3)
    cfg = {
        "architectures": ["GPTNeoXForCausalLM"],
        "attention_bias": True,
        "attention_dropout": 0.0,
        "bos_token_id": 280,
        "classifier_dropout": 0.1,
        "eos_token_id": 280,
        "hidden_act": "gelu",
        "hidden_dropout": 0.0,
        "hidden_size": C,
        "initializer_range": 0.02,
        "intermediate_size": I,
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": CTX,
        "model_type": "gpt_neox",
        "num_attention_heads": H,
        "num_hidden_layers": 2,
        "rope_scaling": None,
        "rotary_emb_base": 10000,
        "rotary_pct": 0.5,  # 0.25 in Pythia; 0.5 of head size 8 = 4 rotary dims, 2 frequencies
        "tie_word_embeddings": False,
        "torch_dtype": dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "use_parallel_residual": True,
        "vocab_size": VOCAB,
    }
    return cfg, t


def llama_like(
    name: str,
    model_type: str,
    *,
    C: int = 32,
    H: int = 4,
    KV: int = 2,
    head_dim: int | None = None,
    I: int = 48,
    tied: bool = True,
    qkv_bias: bool = False,
    o_bias: bool = False,
    mlp_bias: bool = False,
    qk_norm: bool = False,
) -> dict:
    D = head_dim or C // H
    r = Init(name)
    t = {"model.embed_tokens.weight": r.embed(VOCAB, C)}
    for i in range(2):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = r.norm_w(C)
        t[p + "self_attn.q_proj.weight"] = r.linear(H * D, C)
        t[p + "self_attn.k_proj.weight"] = r.linear(KV * D, C)
        t[p + "self_attn.v_proj.weight"] = r.linear(KV * D, C)
        t[p + "self_attn.o_proj.weight"] = r.linear(C, H * D)
        if qkv_bias:
            t[p + "self_attn.q_proj.bias"] = r.bias(H * D)
            t[p + "self_attn.k_proj.bias"] = r.bias(KV * D)
            t[p + "self_attn.v_proj.bias"] = r.bias(KV * D)
        if o_bias:
            t[p + "self_attn.o_proj.bias"] = r.bias(C)
        if qk_norm:
            t[p + "self_attn.q_norm.weight"] = r.norm_w(D)
            t[p + "self_attn.k_norm.weight"] = r.norm_w(D)
        t[p + "post_attention_layernorm.weight"] = r.norm_w(C)
        t[p + "mlp.gate_proj.weight"] = r.linear(I, C)
        t[p + "mlp.up_proj.weight"] = r.linear(I, C)
        t[p + "mlp.down_proj.weight"] = r.linear(C, I)
        if mlp_bias:
            t[p + "mlp.gate_proj.bias"], t[p + "mlp.up_proj.bias"], t[p + "mlp.down_proj.bias"] = r.bias(I), r.bias(I), r.bias(C)
    t["model.norm.weight"] = r.norm_w(C)
    if not tied:
        t["lm_head.weight"] = r.embed(VOCAB, C, 0.3)
    return t


def llama_model(name: str, *, llama3_rope: bool = False, dtype: str = "float32") -> tuple[dict, dict]:
    # SmolLM2-135M's shape in miniature (GQA 2:1, tied head, no biases); the llama3 variant is Llama-3.2-like
    # (untied head, rope_scaling llama3) and turns on attention_bias/mlp_bias so those paths are covered too
    bias = llama3_rope
    t = llama_like(name, "llama", tied=not llama3_rope, qkv_bias=bias, o_bias=bias, mlp_bias=bias)
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": bias,
        "attention_dropout": 0.0,
        "bos_token_id": 280,
        "eos_token_id": 280,
        "head_dim": 8,
        "hidden_act": "silu",
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 48,
        "max_position_embeddings": CTX,
        "mlp_bias": bias,
        "model_type": "llama",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 100000.0,
        "tie_word_embeddings": not llama3_rope,
        "torch_dtype": dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
    }
    if llama3_rope:
        # head_dim 8 → inv_freq 1, 0.1, 0.01, 0.001 (θ 10000): wavelengths 6.3, 63, 628, 6283 fall in the high,
        # medium (smoothed) and low (÷ factor) bands of original_max_position_embeddings 64 / low 1 / high 4
        cfg["rope_theta"] = 10000.0
        cfg["rope_scaling"] = {
            "factor": 8.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 64,
            "rope_type": "llama3",
        }
        cfg["max_position_embeddings"] = 128
        cfg["bos_token_id"], cfg["eos_token_id"] = 281, 282
    return cfg, t


def qwen2_model(name: str) -> tuple[dict, dict]:
    t = llama_like(name, "qwen2", qkv_bias=True)  # Qwen2Attention: q/k/v bias=True, o_proj bias=False
    cfg = {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 280,
        "eos_token_id": 280,
        "hidden_act": "silu",
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 48,
        "max_position_embeddings": CTX,
        "max_window_layers": 2,
        "model_type": "qwen2",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "sliding_window": CTX,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": VOCAB,
    }
    return cfg, t


def qwen3_model(name: str) -> tuple[dict, dict]:
    # head_dim 16 with 4 heads on hidden 32: H·D = 64 ≠ hidden, as in Qwen3-0.6B (16·128 ≠ 1024)
    t = llama_like(name, "qwen3", head_dim=16, qk_norm=True)
    cfg = {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 280,
        "eos_token_id": 282,
        "head_dim": 16,
        "hidden_act": "silu",
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 48,
        "max_position_embeddings": CTX,
        "max_window_layers": 2,
        "model_type": "qwen3",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": VOCAB,
    }
    return cfg, t


# --------------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------------

# name → (builder, safetensors dtype, shards, tokenizer_config args)
GPT2_TOK = dict(bos="<|endoftext|>", eos="<|endoftext|>", pad=None, unk="<|endoftext|>", cls="GPT2Tokenizer", chat=False)
NEOX_TOK = dict(bos="<|endoftext|>", eos="<|endoftext|>", pad=None, unk="<|endoftext|>", cls="GPTNeoXTokenizer", chat=False)
SMOL_TOK = dict(bos="<|endoftext|>", eos="<|endoftext|>", pad=None, unk="<|endoftext|>", cls="GPT2Tokenizer", chat=True)
LLAMA3_TOK = dict(bos="<|im_start|>", eos="<|im_end|>", pad="<|endoftext|>", unk=None, cls="PreTrainedTokenizerFast", chat=True)
QWEN2_TOK = dict(bos=None, eos="<|endoftext|>", pad="<|endoftext|>", unk=None, cls="Qwen2Tokenizer", chat=True)
QWEN3_TOK = dict(bos=None, eos="<|im_end|>", pad="<|endoftext|>", unk=None, cls="Qwen2Tokenizer", chat=True)

FIXTURES = {
    "gpt2": (lambda n: gpt2_model(n), "F32", 1, GPT2_TOK),
    # tiny/gpt2's weights in the legacy naming with mask buffers (how real GPT-2 hub files look)
    "gpt2-legacy": (lambda n: gpt2_legacy_model(n), "F32", 1, GPT2_TOK),
    "gpt-neo": (lambda n: gpt_neo_model(n), "F32", 1, GPT2_TOK),
    "pythia": (lambda n: gpt_neox_model(n), "F32", 1, NEOX_TOK),
    # tiny/pythia's weights in float16, as EleutherAI's Pythia model.safetensors files are stored
    "pythia-f16": (lambda n: gpt_neox_model("pythia", dtype="float16"), "F16", 1, NEOX_TOK),
    "llama": (lambda n: llama_model(n), "F32", 1, SMOL_TOK),
    # the same weights as tiny/llama stored in bfloat16 (the losses are those of the rounded weights)
    "llama-bf16": (lambda n: llama_model("llama", dtype="bfloat16"), "BF16", 1, SMOL_TOK),
    "llama3-rope": (lambda n: llama_model(n, llama3_rope=True), "F32", 1, LLAMA3_TOK),
    "qwen2": (lambda n: qwen2_model(n), "F32", 1, QWEN2_TOK),
    # tiny/qwen2's weights in two shards + model.safetensors.index.json
    "qwen2-sharded": (lambda n: qwen2_model("qwen2"), "F32", 2, QWEN2_TOK),
    "qwen3": (lambda n: qwen3_model(n), "F32", 1, QWEN3_TOK),
}


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_fixture(name: str, tok: dict) -> str:
    build, dtype, shards, tok_args = FIXTURES[name]
    cfg, tensors = build(name)
    d = os.path.join(OUT, "tiny", name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith(".safetensors") or f.endswith(".index.json"):
            os.remove(os.path.join(d, f))
    write_json(os.path.join(d, "config.json"), dict(sorted(cfg.items())))
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), tensors, dtype)
    else:
        # split in name order at the byte midpoint, as save_pretrained fills shards up to max_shard_size
        names = sorted(tensors)
        total = sum(tensors[n].nbytes for n in names)
        parts: list[list[str]] = [[] for _ in range(shards)]
        acc = 0
        for n in names:
            parts[min(shards - 1, acc * shards // total)].append(n)
            acc += tensors[n].nbytes
        weight_map = {}
        size = 0
        for k, part in enumerate(parts):
            fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
            size += write_safetensors(os.path.join(d, fname), {n: tensors[n] for n in part}, dtype)
            weight_map.update({n: fname for n in part})
        write_json(
            os.path.join(d, "model.safetensors.index.json"),
            {"metadata": {"total_size": size}, "weight_map": dict(sorted(weight_map.items()))},
        )
    write_json(os.path.join(d, "tokenizer.json"), tok)
    write_json(os.path.join(d, "tokenizer_config.json"), tokenizer_config(tok, **tok_args))
    return d


def main() -> None:
    sys.path.insert(0, HERE)
    import hf_reference  # noqa: E402  (the oracle reads the files back, independently of this writer)

    tok = make_tokenizer()
    assert len(tok["model"]["vocab"]) <= VOCAB
    for name in FIXTURES:
        d = write_fixture(name, tok)
        hf_reference.write_expected(d)
        print(f"wrote {os.path.relpath(d, ROOT)}")


if __name__ == "__main__":
    main()
