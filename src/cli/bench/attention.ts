/**
 * `bench attention`: the general attention kernels (shaders/attention-gqa.wgsl, what the HF families
 * run) against the GPT-2 fused attention (shaders/attention.wgsl) on the same GPT-2-layout (B, T, 3C)
 * data through strided views, forward + backward, same process, same adapter; then grouped-query shapes
 * (SmolLM2-135M: NH 9, NKV 3) and a GPT-Neo local window, which only the general kernels run.
 * Medians of `trials` timings after a warm-up; the two paths alternate within a trial.
 */
import { emit, has, numberFlag, parseArgs } from '../args';
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { attentionBackward, attentionForward } from '../../gpu/kernels/attention';
import { gqaBackward, gqaForward } from '../../gpu/kernels/attention-gqa';
import { Rng } from '../../engine/rng';
import { median } from '../peers/tfjs';

interface Shape {
  name: string;
  B: number;
  T: number;
  NH: number;
  NKV: number;
  HS: number;
  window?: number;
}

export async function run(gpu: Gpu, argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    command: 'bench attention',
    declaredIn: 'src/cli/bench/attention.ts',
    booleans: ['json', 'quick'],
    values: ['B', 'T', 'trials'],
  });
  const quick = has(args, 'quick');
  const json = has(args, 'json');
  const trials = numberFlag(args, 'trials', quick ? 1 : 3);
  const B = numberFlag(args, 'B', quick ? 1 : 4);
  const T = numberFlag(args, 'T', quick ? 64 : 128);
  const shapes: Shape[] = [
    { name: 'gpt2', B, T, NH: 12, NKV: 12, HS: 64 },
    { name: 'smollm2-135m', B, T, NH: 9, NKV: 3, HS: 64 },
    { name: 'gpt-neo local', B, T, NH: 12, NKV: 12, HS: 64, window: Math.max(1, T >> 2) },
  ];
  const rng = new Rng(9, 'bench-attention');
  const time = async (rec: (enc: StepEncoder) => void): Promise<number> => {
    const enc = gpu.encoder('bench-attention');
    rec(enc);
    const t0 = performance.now();
    enc.submit();
    await gpu.sync();
    return performance.now() - t0;
  };
  for (const s of shapes) {
    const { NH, NKV, HS } = s;
    const N = s.B * s.T;
    const gpt2 = NH === NKV && !s.window;
    // GPT-2 layout when the GPT-2 kernel can run it, else separate q, k, v.
    const qkvW = gpt2 ? 3 * NH * HS : (NH + 2 * NKV) * HS;
    const up = (n: number, label: string) => gpu.upload(rng.fillNormal(new Float32Array(n), 1), [n], label);
    const qkv = up(N * qkvW, 'bench:qkv'),
      dout = up(N * NH * HS, 'bench:dout');
    const out = gpu.tensor([N * NH * HS], 'bench:out'),
      att = gpu.tensor([s.B * NH * s.T * s.T], 'bench:att'),
      datt = gpu.tensor([s.B * NH * s.T * s.T], 'bench:datt'),
      dqkv = gpu.tensor([N * qkvW], 'bench:dqkv');
    const view = (off: number) => ({ off, row: qkvW, head: HS });
    const views = {
      qView: view(0),
      kView: view(NH * HS),
      vView: view(gpt2 ? 2 * NH * HS : (NH + NKV) * HS),
    };
    const dims = { B: s.B, T: s.T, NH, NKV, HS, window: s.window, ...views };
    const general = (enc: StepEncoder) => {
      gqaForward(enc, { q: qkv, k: qkv, v: qkv, out, att, ...dims });
      gqaBackward(enc, { dout, q: qkv, k: qkv, v: qkv, att, dq: dqkv, dk: dqkv, dv: dqkv, datt, ...dims });
    };
    const C = NH * HS;
    const fused = (enc: StepEncoder) => {
      attentionForward(enc, { qkv, out, att, B: s.B, T: s.T, C, NH, variant: 'fused' });
      attentionBackward(enc, { dout, qkv, att, dqkv, datt, B: s.B, T: s.T, C, NH, variant: 'fused' });
    };
    await time(general);
    if (gpt2) await time(fused);
    const ms = { general: [] as number[], gpt2: [] as number[] };
    for (let t = 0; t < trials; t++) {
      const order = t % 2 === 0 ? ['general', 'gpt2'] : ['gpt2', 'general'];
      for (const k of order) {
        if (k === 'general') ms.general.push(await time(general));
        else if (gpt2) ms.gpt2.push(await time(fused));
      }
    }
    const g = median(ms.general),
      f = gpt2 ? median(ms.gpt2) : NaN;
    const line = {
      bench: 'attention',
      shape: s.name,
      B: s.B,
      T: s.T,
      NH,
      NKV,
      HS,
      window: s.window ?? 0,
      pass: 'fwd+bwd',
      general_ms: round(g),
      gpt2_fused_ms: round(f),
      ratio: round(f / g),
      trials,
      adapter: gpu.name,
    };
    if (json) emit(line);
    else
      console.log(
        `attention ${s.name} B${s.B} T${s.T} NH${NH} NKV${NKV} HS${HS}${s.window ? ` window ${s.window}` : ''} fwd+bwd: general ${line.general_ms} ms${gpt2 ? `  gpt2 fused ${line.gpt2_fused_ms} ms  ratio ${line.ratio}` : ''}`,
      );
    for (const t of [qkv, dout, out, att, datt, dqkv] as GpuTensor[]) gpu.release(t);
  }
}

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : null);
