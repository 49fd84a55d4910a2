/**
 * What the CLI refuses before touching the GPU (issues 18 and 19): unknown flags with the closest known
 * one, unknown --param paths, prototype-polluting keys, schema errors in one line, a mistyped --model
 * folder. Unit checks of the parser plus three real child processes of the CLI.
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/engine/io/safetensors';
import { run as analyzeRun } from '../../src/cli/commands/analyze';
import { CliError, parseArgs } from '../../src/cli/args';
import { applyOverrides, ConfigError, parseRunConfig, RUN_PRESETS } from '../../src/engine/config';
import { closestName, escapeControl, issuesOneLine } from '../../src/engine/strings';
import { runCli, ourErrors, type CliRun } from '../helpers/cli';

const TRAIN = { command: 'train', booleans: ['json'], values: ['steps', 'param', 'config'] };

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('unknown flags', () => {
  it('refuses --stpes and names --steps and where flags are declared', () => {
    const m = message(() => parseArgs(['--stpes', '2'], TRAIN));
    expect(m).toMatch(/^unknown flag --stpes for train; did you mean --steps\?/);
    expect(m).toContain('src/cli/commands/train.ts');
    expect(() => parseArgs(['--stpes', '2'], TRAIN)).toThrow(CliError);
  });
  it('lists the accepted flags when nothing is close', () => {
    expect(message(() => parseArgs(['--zzzzzzzz'], TRAIN))).toContain('it accepts --json, --steps, --param, --config');
  });
  it('accepts declared flags in every spelling and refuses a value on a boolean', () => {
    const p = parseArgs(['--steps=3', '--param', 'lr=1', '--json'], TRAIN);
    expect(p.flags.get('steps')).toEqual(['3']);
    expect(p.flags.get('param')).toEqual(['lr=1']);
    expect(message(() => parseArgs(['--json=yes'], TRAIN))).toMatch(/--json takes no value/);
  });
  it('escapes control characters in the echoed flag', () => {
    expect(message(() => parseArgs(['--\u001b[2Jx'], TRAIN))).not.toContain('\u001b');
  });
});

describe('--param paths and keys', () => {
  const micro = RUN_PRESETS.micro;
  it('refuses a dotted path that names no field, with the closest field', () => {
    expect(message(() => applyOverrides(micro, ['train.lrr=1e-3']))).toMatch(
      /--param train\.lrr: no field "train\.lrr"; did you mean train\.lr\?/,
    );
    expect(message(() => applyOverrides(micro, ['trian.steps=3']))).toMatch(/did you mean train\?/);
  });
  it('still takes real paths, free records and optional fields', () => {
    const c = parseRunConfig(
      applyOverrides(micro, [
        'train.lr=0.01',
        'method.params.rank=4',
        'targets.rankOverrides={"mlp.c_fc":2}',
        'name=x',
      ]),
    );
    expect(c.train.lr).toBe(0.01);
    expect(c.method.params.rank).toBe(4);
  });
  it('rejects __proto__, constructor and prototype in paths and values, and Object.prototype stays clean', () => {
    for (const p of ['__proto__.polluted=1', 'train.constructor.x=1', 'method.params.prototype=1', 'constructor=1'])
      expect(() => applyOverrides(micro, [p]), p).toThrow(ConfigError);
    expect(() => applyOverrides(micro, ['targets={"__proto__":{"polluted":1}}'])).toThrow(/__proto__/);
    expect(() => parseRunConfig(JSON.parse('{"method":{"id":"lora","params":{"__proto__":{"polluted":1}}}}'))).toThrow(
      /not allowed/,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('one-line schema errors', () => {
  it('names every bad field on one line', () => {
    const m = message(() => parseRunConfig({ train: { lr: -1, steps: 'x' }, seed: -3 }));
    expect(m.split('\n')).toHaveLength(1);
    expect(m).toMatch(/greater than 0 \(at train\.lr\)/);
    expect(m).toMatch(/\(at train\.steps\)/);
    expect(m).toMatch(/\(at seed\)/);
  });
  it('caps the list and escapes control characters', () => {
    const issues = Array.from({ length: 9 }, (_, i) => ({ path: ['a', `k${i}\u0007`], message: 'bad\nthing' }));
    const line = issuesOneLine(issues);
    expect(line).toContain('(+5 more)');
    expect(line).not.toContain('\u0007');
    expect(line).not.toContain('\n');
  });
  it('closest names and escaping', () => {
    expect(closestName('stpes', ['seed', 'steps', 'lr'])).toBe('steps');
    expect(closestName('qqqqqq', ['seed', 'steps'])).toBeNull();
    expect(escapeControl('h.0\u001b[31m\u202e')).toBe('h.0\\x1b[31m\\u202e');
  });
});

describe('cli refuses (child processes)', () => {
  let typo: CliRun, folder: CliRun, zod: CliRun, long: CliRun;
  beforeAll(async () => {
    [typo, folder, zod, long] = await Promise.all([
      runCli(['train', '--config', 'micro', '--stpes', '2', '--json']),
      runCli(['eval', '--model', './runs/does-not-exist', '--dataset', 'english']),
      runCli(['train', '--config', 'micro', '--param', 'train.lr=-1', '--param', 'seed=-2', '--json']),
      runCli(['sample', '--model', 'micro', '--tokens', '1000000']),
    ]);
  }, 60_000);
  it('train --stpes exits non-zero before any step, with one line naming --steps', () => {
    expect(typo.code).not.toBe(0);
    expect(typo.stdout).toBe('');
    expect(ourErrors(typo.stderr)).toEqual([
      expect.stringMatching(/unknown flag --stpes for train; did you mean --steps\?/),
    ]);
  });
  it('a mistyped --model path says the folder does not exist', () => {
    expect(folder.code).not.toBe(0);
    expect(ourErrors(folder.stderr)).toEqual([
      expect.stringMatching(/--model \.\/runs\/does-not-exist: folder does not exist/),
    ]);
  });
  it('sample --tokens 1000000 is refused at once, not run until killed', () => {
    expect(long.code).not.toBe(0);
    expect(ourErrors(long.stderr)).toEqual(['rankscope: --tokens must be an integer in 1…4096, got 1000000']);
  });
  it('schema errors are one line naming the fields, never a ZodError dump', () => {
    expect(zod.code).not.toBe(0);
    const lines = ourErrors(zod.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\(at train\.lr\).*\(at seed\)/);
    expect(zod.stderr).not.toMatch(/ZodError|✖/);
  });
});

describe('analyze invents no figures and prints names inert (issue 19 items 1, 10)', () => {
  const rnd = (n: number, seed: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.1);
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rankscope-refuse-'));
    const evil = 'h.0.\u001b[2J\u001b]0;pwned\u0007attn.c_proj.weight';
    const base = [
      { name: 'h.0.attn.c_attn.weight', shape: [8, 24], data: rnd(192, 1) },
      { name: 'h.0.mlp.c_fc.weight', shape: [8, 32], data: rnd(256, 2) },
      { name: evil, shape: [8, 8], data: rnd(64, 3) },
    ];
    const tunedNaN = rnd(192, 1);
    tunedNaN[3 * 24 + 7] = NaN;
    tunedNaN[5] = Infinity;
    const tuned = [
      { ...base[0], data: tunedNaN },
      { ...base[1], data: new Float32Array(256) },
      { ...base[2], data: rnd(64, 4) },
    ];
    await writeFile(join(dir, 'base.safetensors'), writeSafetensors(base));
    await writeFile(join(dir, 'tuned.safetensors'), writeSafetensors(tuned));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const analyze = async (...extra: string[]) => {
    const logs: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
    const spyErr = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      logs.push(String(s));
      return true;
    });
    try {
      const code = await analyzeRun([
        '--base',
        join(dir, 'base.safetensors'),
        '--tuned',
        join(dir, 'tuned.safetensors'),
        '--cpu',
        ...extra,
      ]);
      return { code, out: logs.join('\n') };
    } finally {
      spy.mockRestore();
      spyErr.mockRestore();
      write.mockRestore();
    }
  };
  it('NaN and all-zero matrices are "not computable", named with the count — never numbers; exit non-zero', async () => {
    const { code, out } = await analyze('--json');
    expect(code).toBe(1);
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const nan = lines.find((l) => l.name === 'h.0.attn.c_attn.weight')!;
    expect(nan.notComputable).toMatch(/tuned matrix has 2 non-finite values \(first at \[0, 5\]\)/);
    expect(nan.erank).toBeUndefined();
    expect(nan.intruders).toBeUndefined();
    const zero = lines.find((l) => l.name === 'h.0.mlp.c_fc.weight')!;
    expect(zero.notComputable).toMatch(/tuned matrix is all zeros/);
    expect(zero.intruders).toBeUndefined();
    const totals = lines.find((l) => l.totals)!.totals as Record<string, unknown>;
    expect(totals.matrices).toBe(1);
    expect(totals.notComputable).toHaveLength(2);
  });
  it('text output escapes control characters in tensor names', async () => {
    const { out } = await analyze();
    expect(out).toContain('h.0.\\x1b[2J\\x1b]0;pwned\\x07attn.c_proj.weight');
    expect(out).not.toContain('\u001b');
    expect(out).not.toContain('\u0007');
    expect(out).toMatch(/not computable/);
  });
});
