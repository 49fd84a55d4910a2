#!/usr/bin/env python3
"""Write tests/fixtures/peft-golden/{lora,dora}/ byte for byte as PEFT 0.17.1 saves a LoRA / DoRA adapter
of a tiny GPT-2 (Rankscope's built-in `micro`: n_layer 2, n_embd 32, Conv1D c_attn 32 -> 96), and hra/ as it
saves an HRA adapter of a tiny Llama (n_layer 2, hidden 32: HRAConfig(r=4, target_modules=[both q_proj])),

    LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["c_attn"],
               fan_in_fan_out=True, use_dora=<False|True>)
    get_peft_model(model, config).save_pretrained(out)

No torch or peft needed: every field and byte below is taken from PEFT's and safetensors' source
(tests/fixtures/peft-golden/README.md cites each). The tensor values are a fixed pattern, not training.
"""
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "peft-golden")
N_LAYER, C, R, ALPHA = 2, 32, 4, 8
OUT = 3 * C  # c_attn: q, k, v


def config(use_dora):
    # peft/config.py PeftConfigMixin + PeftConfig fields, peft/tuners/lora/config.py LoraConfig fields (v0.17.1);
    # LoraConfig.to_dict() drops runtime_config; PeftModel.save_pretrained sets inference_mode=True and
    # base_model_name_or_path; PeftConfigMixin.save_pretrained writes json.dumps(indent=2, sort_keys=True).
    return {
        "task_type": "CAUSAL_LM",
        "peft_type": "LORA",
        "auto_mapping": None,
        "base_model_name_or_path": "rankscope/micro",
        "revision": None,
        "inference_mode": True,
        "r": R,
        "target_modules": ["c_attn"],
        "exclude_modules": None,
        "lora_alpha": ALPHA,
        "lora_dropout": 0.0,
        "fan_in_fan_out": True,
        "bias": "none",
        "use_rslora": False,
        "modules_to_save": None,
        "init_lora_weights": True,
        "layers_to_transform": None,
        "layers_pattern": None,
        "rank_pattern": {},
        "alpha_pattern": {},
        "megatron_config": None,
        "megatron_core": "megatron.core",
        "trainable_token_indices": None,
        "loftq_config": {},
        "eva_config": None,
        "corda_config": None,
        "use_dora": use_dora,
        "use_qalora": False,
        "qalora_group_size": 16,
        "layer_replication": None,
        "lora_bias": False,
        "target_parameters": None,
    }


def pattern(n, salt, positive=False):
    # exactly representable in float32: k/64 for small k
    vals = [(((i * 37 + salt * 11) % 29) - 14) / 64.0 for i in range(n)]
    return [abs(v) + 0.5 for v in vals] if positive else vals


def tensors(use_dora):
    # get_peft_model_state_dict (peft/utils/save_and_load.py): keys with "lora_" and the adapter name, then
    # ".default" removed; DoRA's "lora_magnitude_vector.default.weight" loses ".weight" first.
    out = {}
    for layer in range(N_LAYER):
        p = f"base_model.model.transformer.h.{layer}.attn.c_attn"
        out[f"{p}.lora_A.weight"] = ([R, C], pattern(R * C, 3 * layer))  # nn.Linear(in, r).weight: (r, in)
        out[f"{p}.lora_B.weight"] = ([OUT, R], pattern(OUT * R, 3 * layer + 1))  # nn.Linear(r, out).weight
        if use_dora:
            out[f"{p}.lora_magnitude_vector"] = ([OUT], pattern(OUT, 3 * layer + 2, positive=True))
    return out


def safetensors_bytes(ts):
    # safetensors/src/tensor.rs prepare(): sort by dtype alignment (all F32 here) then name; offsets in that
    # order; serde_json compact header with "__metadata__" first; padded with spaces to a multiple of 8;
    # u64 little-endian header length, header, data. PeftModel.save_pretrained passes metadata {"format": "pt"}.
    names = sorted(ts)
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for n in names:
        shape, vals = ts[n]
        blob = struct.pack(f"<{len(vals)}f", *vals)
        header[n] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def hra_config():
    # peft/tuners/hra/config.py HRAConfig fields after PeftConfigMixin + PeftConfig's (v0.17.1), as to_dict()
    # (dataclasses.asdict) gives them; target_modules is a set after __post_init__ and save_pretrained lists
    # it back in set order (not deterministic), so it is written sorted here and compared as a set.
    return {
        "task_type": "CAUSAL_LM",
        "peft_type": "HRA",
        "auto_mapping": None,
        "base_model_name_or_path": "rankscope/tiny-llama",
        "revision": None,
        "inference_mode": True,
        "r": R,
        "apply_GS": False,
        "target_modules": sorted(f"model.layers.{layer}.self_attn.q_proj" for layer in range(N_LAYER)),
        "exclude_modules": None,
        "init_weights": True,
        "layers_to_transform": None,
        "layers_pattern": None,
        "bias": "none",
        "modules_to_save": None,
    }


def hra_tensors():
    # HRALayer.hra_u is a ParameterDict entry of shape (in_features, r) (hra/layer.py:77); the state dict key
    # "<module>.hra_u.default" keeps "hra_" (PEFT_TYPE_TO_PREFIX_MAPPING) and loses ".default" (save_and_load.py:319)
    return {
        f"base_model.model.model.layers.{layer}.self_attn.q_proj.hra_u": ([C, R], pattern(C * R, 5 * layer + 4))
        for layer in range(N_LAYER)
    }


d = os.path.join(ROOT, "hra")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "adapter_config.json"), "w") as f:
    f.write(json.dumps(hra_config(), indent=2, sort_keys=True))
with open(os.path.join(d, "adapter_model.safetensors"), "wb") as f:
    f.write(safetensors_bytes(hra_tensors()))
print(d)

for kind, dora in (("lora", False), ("dora", True)):
    d = os.path.join(ROOT, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        f.write(json.dumps(config(dora), indent=2, sort_keys=True))
    with open(os.path.join(d, "adapter_model.safetensors"), "wb") as f:
        f.write(safetensors_bytes(tensors(dora)))
    print(d)
