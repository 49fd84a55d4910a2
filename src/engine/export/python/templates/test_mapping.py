"""The values train.py would pass to PEFT/transformers/the optimizer, parsed back and compared with the
studio run (run_config.json "studio_run", the run.json verbatim) and with numbers the studio computed
itself ("check": its lr schedule, its batches, its token digests). Stdlib only: `python3 test_mapping.py`.
"""
import functools
import json
import os
import unittest

import rs_config as rs

HERE = os.path.dirname(os.path.abspath(__file__))
CFG = rs.load_config(os.path.join(HERE, "run_config.json"))
# the run's data/, or in an exported experiment the data/ its runs share (two levels up)
DATA = os.path.join(HERE, "data") if os.path.isdir(os.path.join(HERE, "data")) else os.path.join(HERE, "..", "..", "data")
RUN = CFG["studio_run"]
CHECK = CFG["check"]


@functools.lru_cache(maxsize=None)
def stream(name):
    return rs.read_stream(os.path.join(DATA, name + ".jsonl"))


class Mapping(unittest.TestCase):
    def test_model(self):
        m = RUN["model"]
        if m["source"] == "local" and m["id"].startswith("hf:"):
            name, _, rev = m["id"][3:].partition("@")
            self.assertEqual(CFG["model"]["id"], name)
            self.assertEqual(CFG["model"]["revision"], rev or None)
        self.assertEqual(CFG["seed"], RUN["seed"])

    def test_method(self):
        mid, p = RUN["method"]["id"], CFG["method"]["params"]
        for k, v in RUN["method"]["params"].items():
            self.assertEqual(p[k], v, "method param %s" % k)
        name, kw = rs.build_peft_kwargs(CFG)
        if mid in ("lora", "rslora", "dora", "loraplus", "lora-asym", "lora-a-only", "pissa", "eva"):
            self.assertEqual(name, "LoraConfig")
            self.assertEqual(kw["r"], p["rank"])
            self.assertEqual(kw["lora_alpha"], p["alpha"])
            self.assertEqual(kw["use_dora"], mid == "dora")
            self.assertEqual(kw["use_rslora"], mid == "rslora")
            self.assertEqual(kw["lora_dropout"], 0.0)
            self.assertEqual(kw["rank_pattern"], {k: v for k, v in RUN["targets"]["rankOverrides"].items()})
            self.assertEqual(kw["init_lora_weights"], CHECK["init_lora_weights"])
        elif mid == "adalora":
            self.assertEqual(name, "AdaLoraConfig")
            self.assertEqual((kw["init_r"], kw["target_r"], kw["lora_alpha"]), (p["rank"], p["targetR"], p["alpha"]))
            self.assertEqual((kw["tinit"], kw["tfinal"], kw["deltaT"]), (p["tinit"], p["tfinal"], p["deltaT"]))
            self.assertEqual((kw["beta1"], kw["beta2"], kw["orth_reg_weight"]), (p["beta1"], p["beta2"], p["orthReg"]))
            self.assertEqual(kw["total_step"], RUN["train"]["steps"])
        elif mid == "hra":
            self.assertEqual(name, "HRAConfig")
            self.assertEqual((kw["r"], kw["apply_GS"], kw["init_weights"]), (p["rank"], False, True))
            self.assertEqual(RUN["targets"]["rankOverrides"], {})
        elif mid == "vera":
            self.assertEqual(name, "VeraConfig")
            self.assertEqual((kw["r"], kw["projection_prng_key"], kw["d_initial"]), (p["rank"], p["projectionSeed"], p["dInitial"]))
        else:
            self.assertIsNone(name)
        if name:
            self.assertEqual(kw["target_modules"], CHECK["target_modules"])
            self.assertEqual(kw.get("fan_in_fan_out", False), CHECK["fan_in_fan_out"])  # HRAConfig: no field, nn.Linear
            self.assertEqual(kw.get("layers_to_transform"), RUN["targets"]["layers"])

    def test_optimizer(self):
        spec, t = rs.optimizer_spec(CFG), RUN["train"]
        self.assertEqual(spec["lr"], t["lr"])
        self.assertEqual(spec["betas"], (t["beta1"], t["beta2"]))
        self.assertEqual((spec["eps"], spec["weight_decay"], spec["max_grad_norm"]), (t["eps"], t["weightDecay"], t["gradClip"]))
        mid, p = RUN["method"]["id"], CFG["method"]["params"]
        self.assertEqual(spec["kind"], {"loraplus": "loraplus", "galore": "galore_adamw"}.get(mid, "adamw"))
        if mid == "galore":
            self.assertEqual((spec["rank"], spec["update_proj_gap"], spec["scale"]), (p["rank"], p["period"], p["scale"]))
            self.assertEqual(spec["transformers"]["optim"], "galore_adamw")
            self.assertEqual(spec["transformers"]["optim_target_modules"], CHECK["target_modules"])
        if mid == "loraplus":
            self.assertEqual(spec["loraplus_lr_ratio"], p["ratio"])
        self.assertEqual(spec.get("frozen"), {"lora-asym": ["lora_A"], "lora-a-only": ["lora_B"]}.get(mid))

    def test_schedule(self):
        t = CFG["train"]
        self.assertEqual(len(CHECK["lr"]), RUN["train"]["steps"])
        for step, want in enumerate(CHECK["lr"]):
            self.assertAlmostEqual(rs.lr_at(step, t), want, delta=1e-12 * max(1.0, abs(want)), msg="lr at step %d" % step)

    def test_batch(self):
        B = RUN["train"]["batchSize"]
        self.assertEqual(rs.batch_plan(CFG)["global"], B)
        for world in (1, 2, 4, 8):
            for accum in (1, 2, 4):
                if B % (world * accum) == 0:
                    plan = rs.batch_plan(CFG, world, accum)
                    self.assertEqual(plan["per_device"] * world * accum, B)
                else:
                    self.assertRaises(ValueError, rs.batch_plan, CFG, world, accum)
        self.assertEqual(CFG["train"]["contextLength"], RUN["train"]["contextLength"])
        self.assertEqual(CFG["train"]["steps"], RUN["train"]["steps"])
        self.assertEqual(CFG["eval"], RUN["eval"])

    def test_data(self):
        for name, want in CHECK["digests"].items():
            s = stream(name)
            self.assertEqual(len(s["tokens"]), CHECK["lengths"][name], name)
            self.assertEqual(rs.token_digest(s["tokens"]), want, name)
            if s["mask"] is not None:
                self.assertEqual(rs.token_digest(s["mask"]), CHECK["mask_digests"][name], name)

    def test_studio_batches(self):
        s, t = stream("train"), RUN["train"]
        for step, rows in CHECK["batches"].items():
            got = rs.batch_rows(s, t["batchSize"], t["contextLength"], RUN["seed"], int(step), RUN["data"]["layout"], rows=range(len(rows)))
            for b, (want, mine) in enumerate(zip(rows, got)):
                self.assertEqual(list(mine[0]), want["inputs"], "step %s row %d inputs" % (step, b))
                self.assertEqual(list(mine[2]), want["mask"], "step %s row %d mask" % (step, b))
        ev = rs.eval_rows(stream("val"), t["batchSize"], t["contextLength"], 1, RUN["data"]["layout"])
        self.assertEqual(list(ev[0][0][1]), CHECK["eval_row0_targets"])

    def test_train_py_imports_without_torch(self):
        import train  # torch, transformers, peft and accelerate are imported inside main()

        self.assertTrue(callable(train.main))


if __name__ == "__main__":
    unittest.main(verbosity=2)
