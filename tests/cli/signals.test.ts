/**
 * The real CLI process under interruption (issue 17 items 3, 5, 6; issue 19 items 2, 7):
 * - SIGTERM during `train`, `eval` and `sample` ends the process within a second; `train` saves its
 *   last good state to --out marked incomplete ("interrupted"), and no `*.tmp-<pid>` is left behind.
 * - A lost device (the real Dawn device destroyed after step 3 by a test hook) ends `train` with one
 *   clear line, keeps the last checkpoint (step 2), and `train --resume` continues from it.
 * - A slow but accepted tokenizer regex: tokenization runs in a worker thread (src/cli/tokenize-thread.ts),
 *   the main thread stays free (it says "still tokenizing", here after 1 s), SIGTERM ends the process within a
 *   second and --out is never created.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, ourErrors } from '../helpers/cli';

const VITE_NODE = path.join(ROOT, 'node_modules', '.bin', 'vite-node');

interface Proc {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** ms from the SIGTERM to the process's exit (NaN when none was sent). */
  exitMs: number;
}

/**
 * Spawn the CLI; once `ready(stdout, stderr)` first holds, send SIGTERM and time the exit.
 * Without `ready`, just run to completion.
 */
function spawnCli(
  args: string[],
  opts: { env?: Record<string, string>; ready?: (o: string, e: string) => boolean } = {},
) {
  return new Promise<Proc>((resolve, reject) => {
    const child = spawn(VITE_NODE, ['--script', 'src/cli/main.ts', '--', ...args], {
      cwd: ROOT,
      env: { ...process.env, RANKSCOPE_DEBUG: '', ...opts.env },
    });
    let stdout = '',
      stderr = '',
      sentAt = NaN;
    const check = () => {
      if (opts.ready && Number.isNaN(sentAt) && opts.ready(stdout, stderr)) {
        sentAt = performance.now();
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      check();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      check();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, exitMs: performance.now() - sentAt }));
  });
}

const tmp = mkdtempSync(path.join(tmpdir(), 'rankscope-signals-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const leftovers = () => readdirSync(tmp).filter((n) => /\.(tmp|old)-\d+/.test(n));
const status = (dir: string) =>
  JSON.parse(readFileSync(path.join(dir, 'status.json'), 'utf8')) as Record<string, unknown>;
/** Dawn prints these when the device is created: the command is past its input checks and on the GPU. */
const onGpu = (_o: string, e: string) => /artificially reduced/.test(e);

describe('SIGTERM ends every command within a second, leaving nothing half-written', () => {
  let train: Proc, evalRun: Proc, sample: Proc;
  const out = path.join(tmp, 'interrupted');

  it('runs train, eval and sample and interrupts each mid-work', async () => {
    [train, evalRun, sample] = await Promise.all([
      spawnCli(
        [
          'train',
          '--config',
          'micro',
          '--method',
          'lora',
          '--steps',
          '500',
          '--out',
          out,
          '--checkpoint-every',
          '3',
          '--json',
        ],
        { ready: (o) => /"step":4,/.test(o) },
      ),
      spawnCli(['eval', '--model', 'base', '--dataset', 'english', '--batches', '100000', '--json'], { ready: onGpu }),
      spawnCli(['sample', '--model', 'base', '--prompt', 'The', '--tokens', '120', '--json'], { ready: onGpu }),
    ]);
  }, 300_000);

  it('reports the measured times', () => {
    console.log(
      `SIGTERM → exit: train ${train.exitMs.toFixed(0)} ms, eval ${evalRun.exitMs.toFixed(0)} ms, sample ${sample.exitMs.toFixed(0)} ms`,
    );
  });

  it('train: exits 143 within a second, its last good state saved as incomplete ("interrupted")', () => {
    expect(train.code, train.stderr).toBe(143);
    expect(train.exitMs).toBeLessThan(1000);
    const s = status(out);
    expect(s.complete).toBe(false);
    expect(s.reason).toBe('interrupted');
    const lastStep = Math.max(
      ...train.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { step: number }).step),
    );
    expect(s.step).toBe(lastStep);
    expect(ourErrors(train.stderr).join('\n')).toMatch(
      /interrupted by SIGTERM after step \d+; the state of step \d+ is saved/,
    );
    expect(leftovers()).toEqual([]);
  });

  it('eval and sample: end within a second and print no result', () => {
    for (const [name, p] of [
      ['eval', evalRun],
      ['sample', sample],
    ] as const) {
      expect(p.code === 143 || p.signal === 'SIGTERM', `${name}: code ${p.code} signal ${p.signal}\n${p.stderr}`).toBe(
        true,
      );
      expect(p.exitMs, name).toBeLessThan(1000);
      expect(p.stdout.trim(), name).toBe('');
    }
  });
});

describe('a lost device in the CLI', () => {
  const out = path.join(tmp, 'lost');
  let lost: Proc, resumed: Proc;

  it('the real device destroyed after step 3 → one clear line, the step-2 checkpoint kept; --resume continues', async () => {
    lost = await spawnCli(
      [
        'train',
        '--config',
        'micro',
        '--method',
        'lora',
        '--steps',
        '5',
        '--out',
        out,
        '--checkpoint-every',
        '2',
        '--json',
      ],
      { env: { RANKSCOPE_TEST_LOSE_DEVICE_AFTER: '3' } },
    );
    expect(lost.code, lost.stderr).toBe(1);
    const errs = ourErrors(lost.stderr);
    expect(errs, lost.stderr).toHaveLength(1);
    expect(errs[0]).toMatch(
      /^rankscope: the GPU device was lost at step 4; the last checkpoint \(step 2\) is kept in .*: continue with train --resume /,
    );
    expect(status(out)).toMatchObject({ complete: false, reason: 'device-lost', step: 2 });

    resumed = await spawnCli(['train', '--resume', out, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const rows = (s: string) =>
      s
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { step?: number; loss?: number; summary?: unknown })
        .filter((r) => !r.summary);
    // Step 3 ran on the device before it was lost; the resumed run recomputes it bit for bit.
    const before = rows(lost.stdout);
    const after = rows(resumed.stdout);
    expect(after.map((r) => r.step)).toEqual([3, 4, 5]);
    expect(after[0].loss).toBe(before.find((r) => r.step === 3)!.loss);
    expect(status(out)).toMatchObject({ complete: true, reason: 'done', step: 5 });
    expect(leftovers()).toEqual([]);
  }, 300_000);
});

describe('a slow tokenizer in the CLI', () => {
  it('SIGTERM mid-tokenization ends train within a second, nothing written to --out', async () => {
    // tiny GPT-2 with a pre-tokenizer regex that passes the hazard check (no nested quantifier) but
    // backtracks polynomially (~L⁴ per word of L letters): 4 000 words of 120 letters take minutes
    const model = path.join(tmp, 'slow-tokenizer');
    cpSync(path.join(ROOT, 'tests/fixtures/hf/tiny/gpt2'), model, { recursive: true });
    const tj = JSON.parse(readFileSync(path.join(model, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    tj.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '\\w*\\w*\\w*!' }, behavior: 'Isolated', invert: false },
        tj.pre_tokenizer,
      ],
    };
    writeFileSync(path.join(model, 'tokenizer.json'), JSON.stringify(tj));
    const data = path.join(tmp, 'long-words.txt');
    writeFileSync(data, Array.from({ length: 400 }, () => ('a'.repeat(120) + ' ').repeat(10)).join('\n'));
    const out = path.join(tmp, 'slow-out');
    const p = await spawnCli(
      ['train', '--model', model, '--dataset', data, '--method', 'lora', '--steps', '2', '--out', out, '--json'],
      { ready: (_o, e) => /still tokenizing the dataset/.test(e), env: { RANKSCOPE_SLOW_TOKENIZE_NOTICE_MS: '1000' } },
    );
    console.log(`SIGTERM → exit during tokenization: ${p.exitMs.toFixed(0)} ms`);
    expect(p.code === 143 || p.signal === 'SIGTERM', `code ${p.code} signal ${p.signal}\n${p.stderr}`).toBe(true);
    expect(p.exitMs).toBeLessThan(1000);
    expect(p.stdout.trim()).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 120_000);
});
