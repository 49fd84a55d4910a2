/**
 * Fuzzing PEFT adapter directories (issue 17 item 4): `importPeft` over mutated adapter_config.json
 * (including hostile `rank_pattern` / `alpha_pattern` keys — nested quantifiers that backtrack
 * catastrophically in a naive RegExp — and wrong-typed r / lora_alpha) and mutated
 * adapter_model.safetensors. Accepted: every module's factors match its rank and shapes; rejected:
 * PeftError / SafetensorsError with one line; no case over 1 s.
 */
import { describe, it } from 'vitest';
import { importPeft, PeftError } from '../../src/engine/io/peft';
import { SafetensorsError, writeSafetensors } from '../../src/engine/io/safetensors';
import { enc, expectClean, fuzz, jsonBytes, mutateBytes, mutateJson, type Prng } from './harness';

const CASES = 10_000;
const PREFIX = 'base_model.model.transformer.';

function adapterDir(rng: Prng) {
  const r = 2;
  const mods = ['h.0.attn.c_attn', 'h.1.attn.c_attn'];
  const tensors = mods.flatMap((m) => [
    { name: `${PREFIX}${m}.lora_A.weight`, shape: [r, 8], data: new Float32Array(r * 8).fill(0.1) },
    { name: `${PREFIX}${m}.lora_B.weight`, shape: [24, r], data: new Float32Array(24 * r).fill(0.2) },
  ]);
  const config: Record<string, unknown> = {
    peft_type: 'LORA',
    r,
    lora_alpha: 4,
    target_modules: ['c_attn'],
    fan_in_fan_out: true,
    bias: 'none',
    use_rslora: false,
    use_dora: false,
    rank_pattern: {},
    alpha_pattern: {},
  };
  if (rng.chance(0.3)) {
    // hostile or odd pattern keys (a catastrophic-backtracking regex, an invalid one, a plain name)
    const key = rng.pick([
      '(a+)+$',
      '(h|h)*\\.0',
      '(.*)*c_attn',
      '[',
      'h.0.attn.c_attn',
      'h\\.\\d+\\.attn\\.c_attn',
      '(?:x+x+)+y',
    ]);
    (config[rng.chance(0.5) ? 'rank_pattern' : 'alpha_pattern'] as Record<string, unknown>)[key] = rng.pick([
      2,
      4,
      0,
      -1,
      'x',
    ]);
  }
  return { config, st: writeSafetensors(tensors) };
}

describe('fuzz: PEFT adapter directories', () => {
  it(`${CASES} mutated adapter_config.json + adapter_model.safetensors: valid modules or one line`, async () => {
    const rep = await fuzz({
      name: 'PEFT adapter dirs',
      cases: CASES,
      gen: (rng) => {
        const d = adapterDir(rng);
        const which = rng.int(10);
        const cfg = which < 6 ? jsonBytes(rng, mutateJson(rng, d.config), 0.1) : jsonBytes(rng, d.config, 0);
        const st = which >= 6 && which < 9 ? mutateBytes(rng, d.st) : d.st;
        return [
          { name: 'adapter_config.json', bytes: cfg },
          { name: 'adapter_model.safetensors', bytes: st },
          { name: 'README.md', bytes: enc.encode('# adapter') },
        ];
      },
      run: (files) => importPeft(files),
      typed: (e) => e instanceof PeftError || e instanceof SafetensorsError,
      valid: (imp) => {
        for (const m of imp.modules) {
          if (!(Number.isInteger(m.r) && m.r >= 1)) return `${m.module}: rank ${m.r}`;
          if (m.A.length !== m.r * m.inDim || m.B.length !== m.outDim * m.r) return `${m.module}: factor sizes`;
          if (!Number.isFinite(m.scaling)) return `${m.module}: scaling ${m.scaling}`;
        }
        return imp.modules.length > 0 ? null : 'no modules';
      },
    });
    expectClean(rep);
  });
});
