/**
 * What the CLI refuses before touching the GPU (issues 18 and 19): unknown flags with the closest known
 * one, unknown --param paths, prototype-polluting keys, schema errors in one line, a mistyped --model
 * folder. Unit checks of the parser plus three real child processes of the CLI.
 */
import { describe, it, expect, beforeAll } from 'vitest';
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
    expect(m).toMatch(/>0 \(at train\.lr\)/);
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
  let typo: CliRun, folder: CliRun, zod: CliRun;
  beforeAll(async () => {
    [typo, folder, zod] = await Promise.all([
      runCli(['train', '--config', 'micro', '--stpes', '2', '--json']),
      runCli(['eval', '--model', './runs/does-not-exist', '--dataset', 'english']),
      runCli(['train', '--config', 'micro', '--param', 'train.lr=-1', '--param', 'seed=-2', '--json']),
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
  it('schema errors are one line naming the fields, never a ZodError dump', () => {
    expect(zod.code).not.toBe(0);
    const lines = ourErrors(zod.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\(at train\.lr\).*\(at seed\)/);
    expect(zod.stderr).not.toMatch(/ZodError|✖/);
  });
});
