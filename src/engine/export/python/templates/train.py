"""Train this Rankscope run with transformers + PEFT + accelerate, on one GPU or many.

    accelerate launch --config_file accelerate/single_gpu.yaml train.py
    accelerate launch --config_file accelerate/multi_gpu.yaml train.py --grad_accum 1
    torchrun --nproc_per_node 8 train.py

Writes out/metrics.jsonl (the same JSON lines as `rankscope train --json`), out/adapter/ (PEFT
format: adapter_config.json + adapter_model.safetensors; full/GaLore runs: the model) and
out/run_config.json. Bring it back with `npm run cli -- import --python-run out`.
Everything the run passes to PEFT/the optimizer comes from rs_config.py (tested by test_mapping.py).
"""
import argparse
import json
import os
import time

import rs_config as rs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="run_config.json")
    ap.add_argument("--out", default="out")
    ap.add_argument("--grad_accum", type=int, default=1, help="accumulation steps; global batch = per-device x devices x this")
    ap.add_argument("--data_dir", default="data", help="the folder of train/val/probe.jsonl (an exported experiment shares one: ../../data)")
    ap.add_argument("--model_path", default=None, help="a local folder to load the base model from instead of the hub")
    ap.add_argument("--bf16", action="store_true", help="mixed precision (the studio trains in float32)")
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F
    from accelerate import Accelerator
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = rs.load_config(args.config)
    acc = Accelerator(gradient_accumulation_steps=args.grad_accum, mixed_precision="bf16" if args.bf16 else "no")
    plan = rs.batch_plan(cfg, acc.num_processes, args.grad_accum)
    torch.manual_seed(cfg["seed"])
    tr, T, B = cfg["train"], cfg["train"]["contextLength"], cfg["train"]["batchSize"]
    layout = cfg["data"]["layout"]

    # ---- model ----
    mref = cfg["model"]
    where = args.model_path or mref.get("path") or mref["id"]
    if mref.get("from_config"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(where))  # a preset: random init
    else:
        model = AutoModelForCausalLM.from_pretrained(where, revision=mref.get("revision"), torch_dtype=torch.float32)
    model.config.use_cache = False

    # ---- data: the exact token streams the studio trained on ----
    streams = {k: rs.read_stream(os.path.join(args.data_dir, "%s.jsonl" % k)) for k in ("train", "val", "probe") if os.path.exists(os.path.join(args.data_dir, "%s.jsonl" % k))}
    for k, s in streams.items():
        want = cfg["data"]["digests"][k]
        if rs.token_digest(s["tokens"]) != want:
            raise SystemExit("data/%s.jsonl does not hold the tokens the studio trained on (sha256 %s expected)" % (k, want))

    def to_tensors(rows):
        inp = torch.tensor([r[0] for r in rows], dtype=torch.long, device=acc.device)
        tgt = torch.tensor([r[1] for r in rows], dtype=torch.long, device=acc.device)
        msk = torch.tensor([r[2] for r in rows], dtype=torch.float32, device=acc.device)
        return inp, tgt, msk

    def masked_loss(m, inp, tgt, msk):
        logits = m(input_ids=inp).logits.float()
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="none")
        return (ce * msk.reshape(-1)).sum(), msk.sum()

    # ---- method ----
    mid = cfg["method"]["id"]
    peft_config = rs.build_peft_config(cfg)
    if peft_config is not None:
        from peft import get_peft_model

        # EVA: PEFT's docs create the model with low_cpu_mem_usage=True, then initialise from data
        model = get_peft_model(model, peft_config, low_cpu_mem_usage=(mid == "eva"))
        if mid == "eva":
            from peft import initialize_lora_eva_weights

            n_init = cfg["method"]["params"].get("batches", 4)
            first = [to_tensors(rs.batch_rows(streams["train"], B, T, cfg["seed"], i, layout, purpose="data/init"))[0] for i in range(n_init)]
            model.to(acc.device)
            initialize_lora_eva_weights(model, dataloader=[{"input_ids": x, "attention_mask": torch.ones_like(x)} for x in first])
        if mid == "lora-a-only":
            # the studio's A-only LoRA (lora-a-only.ts): A = 0 trains, B ~ U(±1/√out) stays frozen; PEFT has no such init
            with torch.no_grad():
                for mod in model.modules():
                    if isinstance(getattr(mod, "lora_A", None), torch.nn.ModuleDict) and "default" in mod.lora_A:
                        mod.lora_A["default"].weight.zero_()
                        b = mod.lora_B["default"].weight  # (out, r)
                        b.uniform_(-b.shape[0] ** -0.5, b.shape[0] ** -0.5)
    spec = rs.optimizer_spec(cfg)
    for n, p in model.named_parameters():
        if any(f in n for f in spec.get("frozen", [])):
            p.requires_grad_(False)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in named if p.ndim >= 2]
    no_decay = [p for n, p in named if p.ndim < 2]
    if spec["kind"] == "loraplus":
        from peft.optimizers import create_loraplus_optimizer

        opt = create_loraplus_optimizer(model=model, optimizer_cls=torch.optim.AdamW, lr=spec["lr"], loraplus_lr_ratio=spec["loraplus_lr_ratio"],
                                        betas=spec["betas"], eps=spec["eps"], weight_decay=spec["weight_decay"])
    elif spec["kind"] == "galore_adamw":
        from galore_torch import GaLoreAdamW  # what transformers uses for optim="galore_adamw"

        targets = spec["target_modules"]
        galore = [p for n, p in named if p.ndim == 2 and any(n.endswith("." + t + ".weight") or n == t + ".weight" for t in targets)]
        ids = {id(p) for p in galore}
        rest_decay = [p for p in decay if id(p) not in ids]
        opt = GaLoreAdamW([
            {"params": rest_decay, "weight_decay": spec["weight_decay"]},
            {"params": no_decay, "weight_decay": 0.0},
            {"params": galore, "weight_decay": spec["weight_decay"], "rank": spec["rank"], "update_proj_gap": spec["update_proj_gap"],
             "scale": spec["scale"], "proj_type": spec["proj_type"]},
        ], lr=spec["lr"], betas=spec["betas"], eps=spec["eps"])
    else:
        scale = spec.get("lr_scale", {})
        groups = {}
        for n, p in named:
            s = next((v for k, v in scale.items() if k in n), 1.0)
            wd = spec["weight_decay"] if p.ndim >= 2 else 0.0
            groups.setdefault((s, wd), []).append(p)
        opt = torch.optim.AdamW([{"params": ps, "lr": spec["lr"] * s, "weight_decay": wd} for (s, wd), ps in groups.items()],
                                lr=spec["lr"], betas=spec["betas"], eps=spec["eps"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: rs.lr_factor(step, tr))
    model, opt = acc.prepare(model, opt)

    # ---- eval ----
    def evaluate(name):
        model.eval()
        tot = torch.zeros(2, device=acc.device)
        with torch.no_grad():
            for i, rows in enumerate(rs.eval_rows(streams[name], B, T, cfg["eval"]["batches"], layout)):
                if i % acc.num_processes != acc.process_index:
                    continue
                s, c = masked_loss(model, *to_tensors(rows))
                tot += torch.stack([s, c])
        tot = acc.reduce(tot, reduction="sum")
        model.train()
        return (tot[0] / tot[1].clamp(min=1)).item()

    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "metrics.jsonl"), "w", encoding="utf-8") if acc.is_main_process else None

    def emit(row):
        if log:
            log.write(json.dumps(row) + "\n")
            log.flush()
            print(json.dumps(row), flush=True)

    every = cfg["eval"]["every"]
    last = {"loss": float("nan"), "valLoss": None, "probeLoss": None}
    if every > 0:
        row = {"step": 0, "valLoss": evaluate("val")}
        if "probe" in streams:
            row["probeLoss"] = evaluate("probe")
        last.update(row)
        emit(row)

    # ---- train: the studio's batches, each device taking its share of the rows ----
    model.train()
    per, accum, world = plan["per_device"], plan["grad_accum"], plan["world_size"]
    started = time.time()
    for step in range(tr["steps"]):
        t0 = time.time()
        lr_now = rs.lr_at(step, tr)
        all_rows = rs.batch_rows(streams["train"], B, T, cfg["seed"], step, layout)
        n_total = max(1, sum(sum(r[2]) for r in all_rows))  # masked targets in the global batch
        loss_sum = 0.0
        for a in range(accum):
            first = (a * world + acc.process_index) * per
            with acc.accumulate(model):
                s, _ = masked_loss(model, *to_tensors(all_rows[first:first + per]))
                # the studio's loss is the mean over every masked target of the global batch; DDP
                # averages over devices and accelerate divides by the accumulation steps, hence × world × accum
                objective = s * (world * accum / n_total)
                if mid == "adalora":  # PEFT adds it to outputs.loss; this script's loss is its own
                    objective = objective + rs.adalora_orth_reg(model, cfg["method"]["params"]["orthReg"]) / accum
                acc.backward(objective)
                loss_sum += s.detach()
        grad_norm = acc.clip_grad_norm_(model.parameters(), tr["gradClip"] if tr["gradClip"] > 0 else float("inf"))
        opt.step()
        if mid == "adalora":  # PEFT: importance scores and budget masking after each optimizer step
            acc.unwrap_model(model).base_model.update_and_allocate(step)
        sched.step()
        opt.zero_grad(set_to_none=True)
        loss = (acc.reduce(torch.as_tensor(loss_sum, device=acc.device).reshape(1), reduction="sum") / n_total).item()
        dt = max(time.time() - t0, 1e-9)
        row = {"step": step + 1, "loss": loss, "lr": lr_now, "gradNorm": float(grad_norm), "tokensPerSec": B * T / dt}
        if every > 0 and ((step + 1) % every == 0 or step + 1 == tr["steps"]):
            row["valLoss"] = evaluate("val")
            if "probe" in streams:
                row["probeLoss"] = evaluate("probe")
        last.update({k: v for k, v in row.items() if k in ("loss", "valLoss", "probeLoss")})
        if not (loss == loss) or abs(loss) == float("inf"):
            raise SystemExit("non-finite loss at step %d" % (step + 1))
        emit(row)

    acc.wait_for_everyone()
    if acc.is_main_process:
        emit({"summary": {"finalLoss": last["loss"], "valLoss": last["valLoss"], "probeLoss": last["probeLoss"], "steps": tr["steps"],
                          "seed": cfg["seed"], "method": mid, "model": mref["id"], "dataset": cfg["studio_run"]["dataset"]["id"],
                          "tokens": tr["steps"] * B * T, "seconds": time.time() - started, "adapter": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                          "devices": world, "complete": True}})
        acc.unwrap_model(model).save_pretrained(os.path.join(args.out, "adapter"), safe_serialization=True)
        with open(os.path.join(args.out, "run_config.json"), "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
        log.close()


if __name__ == "__main__":
    main()
