"""Rankscope run -> transformers/PEFT/accelerate mapping (stdlib only; torch and peft are imported lazily).

Everything train.py passes to PEFT, the optimizer and the scheduler is computed here from
run_config.json, so test_mapping.py can check it with a bare python3 (no torch, no GPU).
The data order is the studio's own: Philox4x32-10 keyed by (seed, FNV-1a("data/train")), the same
draw per (step, row) as src/engine/data/batcher.ts, so the same rows are trained on in the same order.
"""
import hashlib
import json
import math
import struct

# ---- the run ----------------------------------------------------------------------------------------


def load_config(path="run_config.json"):
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)


# ---- learning rate (src/engine/optim/schedule.ts) -----------------------------------------------------


def lr_at(step, train):
    """The learning rate of 0-based `step`: linear warm-up, then cosine/linear/constant down to lr*minLrRatio."""
    lr, total = train["lr"], train["steps"]
    warm = min(train["warmupSteps"], total)
    if step < warm:
        return lr * (step + 1) / warm
    if train["schedule"] == "constant":
        return lr
    min_lr = lr * train["minLrRatio"]
    span = total - 1 - warm
    p = 1.0 if span <= 0 else min(1.0, (step - warm) / span)
    if train["schedule"] == "linear":
        return lr - (lr - min_lr) * p
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * p))


def lr_factor(step, train):
    """For torch.optim.lr_scheduler.LambdaLR (multiplies the base lr)."""
    return lr_at(step, train) / train["lr"]


# ---- method -> PEFT ----------------------------------------------------------------------------------

LORA_INIT = {"lora": True, "rslora": True, "dora": True, "loraplus": True, "lora-asym": True, "lora-a-only": True, "eva": "eva"}


def build_peft_kwargs(cfg):
    """(config class name, kwargs) for PEFT, or (None, None) when the method trains the model's own weights."""
    m, p, t = cfg["method"]["id"], cfg["method"]["params"], cfg["targets"]
    common = {"target_modules": t["target_modules"], "task_type": "CAUSAL_LM"}
    if t.get("layers_to_transform") is not None:
        common["layers_to_transform"] = t["layers_to_transform"]
    if m in ("full", "galore"):
        return None, None
    if m == "vera":
        return "VeraConfig", dict(
            common,
            r=p["rank"],
            d_initial=p["dInitial"],
            projection_prng_key=p["projectionSeed"],
            vera_dropout=0.0,
            fan_in_fan_out=t["fan_in_fan_out"],
        )
    if m == "hra":
        # PEFT's HRAConfig (tuners/hra/config.py): r Householder reflections as a plain chain (apply_GS False),
        # PEFT's paired init (H = I); no fan_in_fan_out or rank_pattern fields (nn.Linear only, one r)
        return "HRAConfig", dict(common, r=p["rank"], apply_GS=False, init_weights=True, bias="none")
    if m == "adalora":
        # PEFT's AdaLoraConfig (tuners/adalora/config.py); train.py calls update_and_allocate after each
        # optimizer step and adds the orthogonality regulariser to its own masked loss
        return "AdaLoraConfig", dict(
            common,
            init_r=p["rank"],
            target_r=p["targetR"],
            tinit=p["tinit"],
            tfinal=p["tfinal"],
            deltaT=p["deltaT"],
            beta1=p["beta1"],
            beta2=p["beta2"],
            orth_reg_weight=p["orthReg"],
            total_step=cfg["train"]["steps"],
            lora_alpha=p["alpha"],
            lora_dropout=0.0,
            fan_in_fan_out=t["fan_in_fan_out"],
        )
    if m in LORA_INIT or m == "pissa":
        init = LORA_INIT.get(m)
        if m == "pissa":
            init = "pissa" if p["niter"] == 0 else "pissa_niter_%d" % p["niter"]
        kw = dict(
            common,
            r=p["rank"],
            lora_alpha=p["alpha"],
            lora_dropout=0.0,
            bias="none",
            use_rslora=(m == "rslora"),
            use_dora=(m == "dora"),
            init_lora_weights=init,
            fan_in_fan_out=t["fan_in_fan_out"],
            rank_pattern=dict(t["rank_pattern"]),
        )
        return "LoraConfig", kw
    raise ValueError("method %r has no PEFT mapping (run_config.json says why: %s)" % (m, cfg.get("refused")))


def build_peft_config(cfg):
    """The PEFT config object (imports peft)."""
    name, kw = build_peft_kwargs(cfg)
    if name is None:
        return None
    import peft

    if cfg["method"]["id"] == "eva":
        kw["eva_config"] = peft.EvaConfig(rho=cfg["method"]["params"]["rho"])
    return getattr(peft, name)(**kw)


def adalora_orth_reg(model, weight):
    """AdaLoraModel.forward's regulariser (PEFT adalora/model.py): weight · mean over lora_A and lora_B of
    ‖A·Aᵀ − I‖_F resp. ‖Bᵀ·B − I‖_F. train.py computes its own loss from the logits, so it adds this itself."""
    import torch

    total, count = 0.0, 0
    for n, p in model.named_parameters():
        if ("lora_A" in n or "lora_B" in n) and p.requires_grad and p.numel() > 0:
            cov = p @ p.T if "lora_A" in n else p.T @ p
            total = total + torch.norm(cov - torch.eye(cov.shape[0], device=p.device, dtype=p.dtype), p="fro")
            count += 1
    return weight * total / max(1, count)


def optimizer_spec(cfg):
    """What train.py builds: AdamW (+ the method's learning-rate groups), LoRA+ or GaLore-AdamW."""
    m, p, tr = cfg["method"]["id"], cfg["method"]["params"], cfg["train"]
    spec = {
        "kind": "adamw",
        "lr": tr["lr"],
        "betas": (tr["beta1"], tr["beta2"]),
        "eps": tr["eps"],
        "weight_decay": tr["weightDecay"],
        "max_grad_norm": tr["gradClip"],
        # studio: vectors (biases, norms, DoRA magnitudes, VeRA lambdas) get no weight decay
        "no_decay": "ndim<2",
    }
    if m == "loraplus":
        spec.update(kind="loraplus", loraplus_lr_ratio=p["ratio"])
    elif m == "vera":
        spec.update(lr_scale={"vera_lambda": p["lrScale"]})
    elif m == "lora-asym":
        spec.update(frozen=["lora_A"])
    elif m == "lora-a-only":
        spec.update(frozen=["lora_B"])
    elif m == "galore":
        spec.update(
            kind="galore_adamw",
            rank=p["rank"],
            update_proj_gap=p["period"],
            scale=p["scale"],
            proj_type="std",
            target_modules=cfg["targets"]["target_modules"],
            # the same optimizer as transformers' TrainingArguments(optim=..., optim_target_modules=..., optim_args=...)
            transformers=dict(
                optim="galore_adamw",
                optim_target_modules=cfg["targets"]["target_modules"],
                optim_args="rank=%d,update_proj_gap=%d,scale=%s,proj_type=std" % (p["rank"], p["period"], p["scale"]),
            ),
        )
    return spec


def batch_plan(cfg, world_size=1, grad_accum=1):
    """Global batch = per-device x devices x accumulation; the studio's batchSize is the global batch."""
    B = cfg["train"]["batchSize"]
    if world_size < 1 or grad_accum < 1 or B % (world_size * grad_accum):
        raise ValueError(
            "the run's batch of %d rows does not split over %d device(s) x %d accumulation step(s); "
            "choose --grad_accum so that devices x accumulation divides %d" % (B, world_size, grad_accum, B)
        )
    return {"global": B, "per_device": B // (world_size * grad_accum), "world_size": world_size, "grad_accum": grad_accum}


# ---- the studio's random numbers (src/engine/rng.ts) ---------------------------------------------------

_M = 0xFFFFFFFF


def philox4x32(c0, c1, c2, c3, k0, k1):
    x0, x1, x2, x3, key0, key1 = c0 & _M, c1 & _M, c2 & _M, c3 & _M, k0 & _M, k1 & _M
    for _ in range(10):
        p0 = 0xD2511F53 * x0
        p1 = 0xCD9E8D57 * x2
        x0, x1, x2, x3 = ((p1 >> 32) ^ x1 ^ key0) & _M, p1 & _M, ((p0 >> 32) ^ x3 ^ key1) & _M, p0 & _M
        key0, key1 = (key0 + 0x9E3779B9) & _M, (key1 + 0xBB67AE85) & _M
    return x0, x1, x2, x3


def purpose_tag(purpose):
    h = 0x811C9DC5
    for ch in purpose.encode("utf-16-le")[::2]:  # the TS code hashes UTF-16 code units; purposes are ASCII
        h = ((h ^ ch) * 0x01000193) & _M
    return h


def draw(seed, purpose, index, n):
    """Batcher.drawFor: a uniform index in [0, n) from 53 random bits of block `index`."""
    w = philox4x32(index & _M, index >> 32, 0, 0, seed, purpose_tag(purpose))
    u = (w[0] * 2097152 + (w[1] >> 11)) / 9007199254740992.0
    return min(n - 1, int(math.floor(u * n)))


# ---- data (src/engine/data/batcher.ts) ---------------------------------------------------------------


def read_stream(path):
    """A data/*.jsonl file -> (tokens, loss mask or None, example starts or None)."""
    tokens, mask, starts, has_mask, examples = [], [], [], False, False
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("example", False):
                examples = True
                starts.append(len(tokens))
            tokens.extend(row["input_ids"])
            if "loss_mask" in row:
                has_mask = True
                mask.extend(row["loss_mask"])
            else:
                mask.extend([1] * len(row["input_ids"]))
    return {"tokens": tokens, "mask": mask if has_mask else None, "starts": starts if examples else None}


def token_digest(tokens):
    """sha256 of the tokens as little-endian int32: the studio computes the same over its Int32Array."""
    return hashlib.sha256(struct.pack("<%di" % len(tokens), *tokens)).hexdigest()


def _fill_row(stream, T, start, end=None):
    tok, mask = stream["tokens"], stream["mask"]
    n = len(tok) if end is None else end
    inp, tgt, msk = [], [], []
    for t in range(T):
        i = start + t
        inp.append(tok[i] if i < n else 0)
        j = i + 1
        if j < n:
            tgt.append(tok[j])
            msk.append(mask[j] if mask is not None else 1)
        else:
            tgt.append(0)
            msk.append(0)
    return inp, tgt, msk


def _num_starts(stream, T, padded):
    starts, n = stream["starts"], len(stream["tokens"])
    max_start = max(0, n - (T + 1))
    if padded:
        return len(starts)
    if starts:
        return max(1, sum(1 for s in starts if s <= max_start))
    return max_start + 1


def row_start(stream, T, seed, index, layout="packed", purpose="data/train"):
    """(start, end) of the row drawn for flat index step*B + b."""
    padded = layout == "padded" and bool(stream["starts"])
    k = draw(seed, purpose, index, _num_starts(stream, T, padded))
    starts = stream["starts"]
    if padded:
        return starts[k], (starts[k + 1] if k + 1 < len(starts) else len(stream["tokens"]))
    return (starts[k] if starts else k), None


def batch_rows(stream, B, T, seed, step, layout="packed", rows=None, purpose="data/train"):
    """Rows of the studio's batch for `step` (all B, or the given row indices): lists of (inputs, targets, mask)."""
    out = []
    for b in range(B) if rows is None else rows:
        s, e = row_start(stream, T, seed, step * B + b, layout, purpose)
        out.append(_fill_row(stream, T, s, e))
    return out


def eval_rows(stream, B, T, max_batches, layout="packed"):
    """evalBatches: consecutive windows (or one example per row, padded), B rows a batch, max_batches batches."""
    batches = []
    starts = stream["starts"]
    if layout == "padded" and starts:
        for k0 in range(0, len(starts), B):
            if len(batches) >= max_batches:
                break
            rows = []
            for k in range(k0, min(k0 + B, len(starts))):
                end = starts[k + 1] if k + 1 < len(starts) else len(stream["tokens"])
                rows.append(_fill_row(stream, T, starts[k], end))
            batches.append(rows)
        return batches
    windows = -(-(len(stream["tokens"]) - 1) // T)
    for w0 in range(0, windows, B):
        if len(batches) >= max_batches:
            break
        batches.append([_fill_row(stream, T, (w0 + b) * T) for b in range(B) if w0 + b < windows])
    return batches
