/**
 * CPU reference for the attention family: causal multi-head self-attention in the GPT-2 layout
 * (llm.c `attention_forward`/`attention_backward`), plain loops with float64 accumulation.
 *
 * The oracle for shaders/attention.wgsl; it shares no code with the GPU path. It is not a fast CPU
 * implementation and is not used by the trainer.
 *
 * Layout (B, T, C, NH, HS = C/NH):
 *   qkv  // (B, T, 3C): q = [:, :, 0:C], k = [:, :, C:2C], v = [:, :, 2C:3C]; head h owns channels h*HS..(h+1)*HS
 *   att  // (B, NH, T, T): softmax(q·kᵀ/√HS) over s ≤ t, exactly 0 for s > t (causal mask)
 *   out  // (B, T, C): out[b,t,h*HS+d] = Σ_s att[b,h,t,s]·v[b,s,h*HS+d]
 *
 * Every function exists in two precisions: the Float32Array one (the GPU oracle) and a Float64Array one
 * (`…64`) used by the finite-difference checks, where float32 rounding would swamp the difference.
 */

export interface AttentionDims {
  B: number;
  T: number;
  C: number;
  NH: number;
}

type F = Float32Array | Float64Array;
type Make<A extends F> = (n: number) => A;

function check(d: AttentionDims, qkvLen: number): number {
  const { B, T, C, NH } = d;
  if (C % NH !== 0) throw new Error(`attention: C=${C} is not divisible by NH=${NH}`);
  if (qkvLen !== B * T * 3 * C)
    throw new Error(`attention: qkv has ${qkvLen} values, expected B*T*3C = ${B * T * 3 * C}`);
  return C / NH;
}

function forwardImpl<A extends F>(qkv: ArrayLike<number>, d: AttentionDims, make: Make<A>): { out: A; att: A } {
  const { B, T, C, NH } = d;
  const HS = check(d, qkv.length);
  const C3 = 3 * C;
  const scale = 1 / Math.sqrt(HS);
  const out = make(B * T * C);
  const att = make(B * NH * T * T);
  const row = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const q = b * T * C3 + t * C3 + h * HS;
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          const k = b * T * C3 + s * C3 + C + h * HS;
          let dot = 0;
          for (let i = 0; i < HS; i++) dot += qkv[q + i] * qkv[k + i];
          row[s] = dot * scale;
          if (row[s] > max) max = row[s];
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) {
          row[s] = Math.exp(row[s] - max);
          sum += row[s];
        }
        const a = ((b * NH + h) * T + t) * T;
        for (let s = 0; s < T; s++) att[a + s] = s <= t ? row[s] / sum : 0;
        const o = b * T * C + t * C + h * HS;
        for (let i = 0; i < HS; i++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) acc += att[a + s] * qkv[b * T * C3 + s * C3 + 2 * C + h * HS + i];
          out[o + i] = acc;
        }
      }
    }
  }
  return { out, att };
}

function backwardImpl<A extends F>(
  dout: ArrayLike<number>,
  qkv: ArrayLike<number>,
  att: ArrayLike<number>,
  d: AttentionDims,
  make: Make<A>,
): A {
  const { B, T, C, NH } = d;
  const HS = check(d, qkv.length);
  if (dout.length !== B * T * C)
    throw new Error(`attention backward: dout has ${dout.length} values, expected B*T*C = ${B * T * C}`);
  if (att.length !== B * NH * T * T)
    throw new Error(`attention backward: att has ${att.length} values, expected B*NH*T*T`);
  const C3 = 3 * C;
  const scale = 1 / Math.sqrt(HS);
  const dqkv = new Float64Array(B * T * C3); // accumulate in float64, round once at the end
  const datt = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const a = ((b * NH + h) * T + t) * T;
        const o = b * T * C + t * C + h * HS;
        // out[t] = Σ_s att[t,s]·v[s]  ⇒  datt[t,s] = dout[t]·v[s],  dv[s] += att[t,s]·dout[t]
        for (let s = 0; s <= t; s++) {
          const v = b * T * C3 + s * C3 + 2 * C + h * HS;
          let dot = 0;
          for (let i = 0; i < HS; i++) {
            dot += dout[o + i] * qkv[v + i];
            dqkv[v + i] += att[a + s] * dout[o + i];
          }
          datt[s] = dot;
        }
        // softmax backward: dpre[t,s] = att[t,s]·(datt[t,s] − Σ_u att[t,u]·datt[t,u])
        let inner = 0;
        for (let s = 0; s <= t; s++) inner += att[a + s] * datt[s];
        // pre[t,s] = scale·q[t]·k[s]  ⇒  dq[t] += scale·dpre·k[s],  dk[s] += scale·dpre·q[t]
        const q = b * T * C3 + t * C3 + h * HS;
        for (let s = 0; s <= t; s++) {
          const dpre = att[a + s] * (datt[s] - inner) * scale;
          const k = b * T * C3 + s * C3 + C + h * HS;
          for (let i = 0; i < HS; i++) {
            dqkv[q + i] += dpre * qkv[k + i];
            dqkv[k + i] += dpre * qkv[q + i];
          }
        }
      }
    }
  }
  const res = make(dqkv.length);
  res.set(dqkv);
  return res;
}

const f32 = (n: number) => new Float32Array(n);
const f64 = (n: number) => new Float64Array(n);

/** Forward: returns out (B,T,C) and the saved softmax probabilities att (B,NH,T,T). */
export function attentionForwardRef(qkv: Float32Array, d: AttentionDims): { out: Float32Array; att: Float32Array } {
  return forwardImpl(qkv, d, f32);
}

/** Backward: dqkv (B,T,3C), the gradient of Σ dout·out w.r.t. qkv given the saved att. */
export function attentionBackwardRef(
  dout: Float32Array,
  qkv: Float32Array,
  att: Float32Array,
  d: AttentionDims,
): Float32Array {
  return backwardImpl(dout, qkv, att, d, f32);
}

/** Float64 forward, for finite differences. */
export function attentionForwardRef64(qkv: Float64Array, d: AttentionDims): { out: Float64Array; att: Float64Array } {
  return forwardImpl(qkv, d, f64);
}

/** Float64 backward, for finite differences. */
export function attentionBackwardRef64(
  dout: Float64Array,
  qkv: Float64Array,
  att: Float64Array,
  d: AttentionDims,
): Float64Array {
  return backwardImpl(dout, qkv, att, d, f64);
}

/**
 * Twin of `attention_decode`: Tq new rows (qkv, (Tq, 3C)) at positions pos0.. attend to the cached
 * keys/values kc, vc (S, C), rows 0..pos0+Tq−1 filled (the new rows' k, v included). Returns out (Tq, C).
 * Written from the causal-attention definition directly, not from the shader.
 */
export function attentionDecodeRef(
  qkv: Float32Array,
  kc: Float32Array,
  vc: Float32Array,
  d: { Tq: number; pos0: number; S: number; C: number; NH: number },
): Float32Array {
  const { Tq, pos0, S, C, NH } = d;
  const HS = check({ B: 1, T: Tq, C, NH }, qkv.length);
  if (pos0 + Tq > S) throw new Error(`attention decode: rows ${pos0}..${pos0 + Tq - 1} do not fit a cache of ${S}`);
  if (kc.length < S * C || vc.length < S * C) throw new Error(`attention decode: caches need S*C = ${S * C} values`);
  const scale = 1 / Math.sqrt(HS);
  const out = new Float32Array(Tq * C);
  const row = new Float64Array(S);
  for (let t = 0; t < Tq; t++) {
    const p = pos0 + t;
    for (let h = 0; h < NH; h++) {
      let max = -Infinity;
      for (let s = 0; s <= p; s++) {
        let dot = 0;
        for (let i = 0; i < HS; i++) dot += qkv[t * 3 * C + h * HS + i] * kc[s * C + h * HS + i];
        row[s] = dot * scale;
        max = Math.max(max, row[s]);
      }
      let sum = 0;
      for (let s = 0; s <= p; s++) sum += row[s] = Math.exp(row[s] - max);
      for (let i = 0; i < HS; i++) {
        let acc = 0;
        for (let s = 0; s <= p; s++) acc += row[s] * vc[s * C + h * HS + i];
        out[t * C + h * HS + i] = acc / sum;
      }
    }
  }
  return out;
}
