/**
 * `analyze` end to end: two small safetensors files in a temp dir — a random base, a tuned model with
 * large rank-2 updates (intruders appear) and one with tiny noise (none appear) — run through the real
 * CLI entry in a subprocess and through the command's run() in-process; the per-matrix intruder counts
 * are checked against an independent SVD (ml-matrix) under the same (out, in) convention.
 */
import { describe, it, expect, vi, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { writeSafetensors } from '../../src/engine/io/safetensors';
import { Rng } from '../../src/engine/rng';
import { run as analyzeRun } from '../../src/cli/commands/analyze';

const exec = promisify(execFile);

interface T {
  name: string;
  shape: number[];
  data: Float32Array;
}

const randn = (n: number, seed: number, std: number) =>
  new Rng(seed, 'cli-analyze').fillNormal(new Float32Array(n), std);

/** (out, in) view of a stored matrix; Conv1D names are stored (in, out). */
function outIn(t: T): { data: Float32Array; M: number; N: number } {
  const [rows, cols] = t.shape;
  if (!/c_(attn|fc|proj)\.weight$/.test(t.name)) return { data: t.data, M: rows, N: cols };
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = t.data[i * cols + j];
  return { data: out, M: cols, N: rows };
}

function leftVectors(a: Float32Array, M: number, N: number) {
  const rows: number[][] = [];
  for (let i = 0; i < M; i++) rows.push(Array.from(a.subarray(i * N, (i + 1) * N)));
  return new SingularValueDecomposition(new Matrix(rows), { autoTranspose: true }).leftSingularVectors;
}

/** Intruder count by the paper's rule, on ml-matrix SVDs. */
function oracleCount(base: T, tuned: T, k = 10, eps = 0.5): number {
  const b = outIn(base);
  const t = outIn(tuned);
  const Ub = leftVectors(b.data, b.M, b.N);
  const Ut = leftVectors(t.data, t.M, t.N);
  const r = Math.min(b.M, b.N);
  let count = 0;
  for (let j = 0; j < Math.min(k, r); j++) {
    let mx = 0;
    for (let i = 0; i < r; i++) {
      let d = 0;
      for (let m = 0; m < b.M; m++) d += Ut.get(m, j) * Ub.get(m, i);
      mx = Math.max(mx, Math.abs(d));
    }
    if (mx < eps) count++;
  }
  return count;
}

function withUpdate(t: T, seed: number): T {
  const { M, N } = outIn(t);
  const u = randn(M * 2, seed, 1);
  const v = randn(N * 2, seed + 1, 1);
  const data = Float32Array.from(t.data);
  const conv = /c_(attn|fc|proj)\.weight$/.test(t.name);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const d = 0.4 * (2 * u[i * 2] * v[j * 2] + u[i * 2 + 1] * v[j * 2 + 1]);
      if (conv) data[j * M + i] += d;
      else data[i * N + j] += d;
    }
  }
  return { ...t, data };
}

const withNoise = (t: T, seed: number): T => ({
  ...t,
  data: Float32Array.from(t.data, (x, i) => x + 1e-5 * Math.sin(i * 7.31 + seed)),
});

const matrices: T[] = [
  { name: 'h.0.attn.c_attn.weight', shape: [48, 144], data: randn(48 * 144, 1, 0.05) },
  { name: 'h.0.mlp.c_fc.weight', shape: [48, 160], data: randn(48 * 160, 2, 0.05) },
  { name: 'h.0.mlp.c_proj.weight', shape: [160, 48], data: randn(160 * 48, 3, 0.05) },
  { name: 'lm.proj.weight', shape: [128, 40], data: randn(128 * 40, 4, 0.05) }, // nn.Linear style (out, in)
  { name: 'wte.weight', shape: [64, 48], data: randn(64 * 48, 5, 0.02) },
];
const updated = new Set(['h.0.attn.c_attn.weight', 'h.0.mlp.c_fc.weight', 'lm.proj.weight']);
const extrasBase: T[] = [
  { name: 'h.0.attn.c_attn.bias', shape: [144], data: randn(144, 6, 0.01) },
  { name: 'wpe.weight', shape: [16, 48], data: randn(16 * 48, 7, 0.01) },
  { name: 'h.0.mismatch.weight', shape: [10, 12], data: randn(120, 8, 0.1) },
  { name: 'only.base.weight', shape: [8, 8], data: randn(64, 9, 0.1) },
];
const extrasTuned: T[] = [
  { name: 'h.0.attn.c_attn.bias', shape: [144], data: randn(144, 6, 0.01) },
  { name: 'wpe.weight', shape: [20, 48], data: randn(20 * 48, 7, 0.01) }, // context grew: skipped, not an error
  { name: 'h.0.mismatch.weight', shape: [12, 10], data: randn(120, 8, 0.1) },
];
const tunedBig = matrices.map((t, i) => (updated.has(t.name) ? withUpdate(t, 100 + 10 * i) : t));
const tunedQuiet = matrices.map((t, i) => withNoise(t, i));

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rankscope-analyze-'));
  await writeFile(join(dir, 'base.safetensors'), writeSafetensors([...matrices, ...extrasBase]));
  await writeFile(join(dir, 'big.safetensors'), writeSafetensors([...tunedBig, ...extrasTuned]));
  await writeFile(join(dir, 'quiet.safetensors'), writeSafetensors([...tunedQuiet, ...extrasTuned]));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Line = Record<string, unknown> & {
  name?: string;
  intruders?: { count: number; k: number; eps: number };
  totals?: Record<string, unknown>;
  error?: string;
};

const parseLines = (text: string): Line[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

function checkAgainstOracle(lines: Line[], tuned: T[]) {
  const expected = new Map(matrices.map((b, i) => [b.name, oracleCount(b, tuned[i])]));
  const perMatrix = lines.filter((l) => l.name && !l.error);
  expect(perMatrix.map((l) => l.name).sort()).toEqual([...expected.keys()].sort());
  for (const l of perMatrix)
    expect({ name: l.name, count: l.intruders!.count }).toEqual({ name: l.name, count: expected.get(l.name!) });
  const totals = lines.find((l) => l.totals)!.totals!;
  expect(totals.matrices).toBe(matrices.length);
  expect(totals.intruders).toBe([...expected.values()].reduce((a, b) => a + b, 0));
  return expected;
}

describe('cli analyze', () => {
  it('subprocess: large rank-2 updates give intruders that match ml-matrix; bad tensors are reported, not fatal', async () => {
    const { stdout } = await exec(
      'npx',
      [
        'vite-node',
        '--script',
        'src/cli/main.ts',
        '--',
        'analyze',
        '--base',
        join(dir, 'base.safetensors'),
        '--tuned',
        join(dir, 'big.safetensors'),
        '--json',
      ],
      { cwd: process.cwd(), timeout: 90_000, maxBuffer: 16 << 20 },
    );
    const lines = parseLines(stdout);
    const expected = checkAgainstOracle(lines, tunedBig);
    console.log(`cli analyze (rank-2 updates): ${[...expected].map(([n, c]) => `${n}=${c}`).join(', ')}`);
    for (const name of updated) expect(expected.get(name)).toBe(2);
    expect(expected.get('wte.weight')).toBe(0);
    const attn = lines.find((l) => l.name === 'h.0.attn.c_attn.weight')!;
    expect(attn.shape).toEqual([48, 144]);
    expect(attn.outIn).toEqual([144, 48]);
    expect(attn.intruders).toMatchObject({ k: 10, eps: 0.5 });
    for (const key of ['erank', 'stableRank', 'alpha']) expect(typeof attn[key]).toBe('number');
    expect(attn.delta).toMatchObject({
      stableRank: expect.any(Number),
      erank: expect.any(Number),
      spectralNorm: expect.any(Number),
      frobenius: expect.any(Number),
    });
    const errors = lines.filter((l) => l.error);
    expect(errors.map((l) => l.name).sort()).toEqual(['h.0.mismatch.weight', 'only.base.weight']);
    const totals = lines.find((l) => l.totals)!.totals as {
      errors: number;
      skipped: { oneD: number; embeddingShape: string[] };
    };
    expect(totals.errors).toBe(2);
    expect(totals.skipped.oneD).toBe(1);
    expect(totals.skipped.embeddingShape).toEqual(['wpe.weight']);
  });

  it('in-process run(): tiny noise gives no intruders (ml-matrix agrees), custom --k/--eps are honoured', async () => {
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await analyzeRun([
        '--base',
        join(dir, 'base.safetensors'),
        '--tuned',
        join(dir, 'quiet.safetensors'),
        '--json',
        '--k',
        '6',
        '--eps',
        '0.4',
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    const lines = parseLines(chunks.join(''));
    const perMatrix = lines.filter((l) => l.name && !l.error);
    expect(perMatrix.length).toBe(matrices.length);
    for (const l of perMatrix) expect(l.intruders).toMatchObject({ k: 6, eps: 0.4, count: 0 });
    for (let i = 0; i < matrices.length; i++) expect(oracleCount(matrices[i], tunedQuiet[i], 6, 0.4)).toBe(0);
    expect(lines.find((l) => l.totals)!.totals).toMatchObject({ matrices: matrices.length, intruders: 0 });
  });

  it('missing flags and unreadable files fail with one clear message', async () => {
    await expect(analyzeRun(['--base', join(dir, 'base.safetensors')])).rejects.toThrow(/--tuned/);
    await expect(
      analyzeRun(['--base', join(dir, 'nope.safetensors'), '--tuned', join(dir, 'big.safetensors')]),
    ).rejects.toThrow(/nope\.safetensors/);
  });
});
