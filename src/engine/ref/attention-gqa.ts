/**
 * CPU reference for shaders/attention-gqa.wgsl: causal self-attention with grouped-query heads, a
 * scale and an optional sliding window, on strided q/k/v views — written from the definition
 * (transformers' `eager_attention_forward` with `repeat_kv`, GPT-Neo's local-attention band), plain
 * loops in float64. Shares no code with the GPU path.
 *
 *   score[t,s] = scale·q[t,h]·k[s,g(h)] for s ∈ [t − w + 1, t] (w = window, or s ∈ [0, t] when w = 0),
 *   att = softmax over the visible s (0 elsewhere), out[t,h] = Σ_s att[t,s]·v[s,g(h)],  g(h) = h / (NH/NKV)
 * Backward: datt = dout·v, dpre = att·(datt − Σ att·datt), dq = scale·Σ_s dpre·k,
 *   dk[s,g] = scale·Σ_{h∈g} Σ_t dpre·q,  dv[s,g] = Σ_{h∈g} Σ_t att·dout.
 */

export interface GqaRefView {
  off?: number;
  row?: number;
  head?: number;
}

export interface GqaRefDims {
  B: number;
  T: number;
  NH: number;
  NKV: number;
  HS: number;
  scale?: number;
  window?: number;
  qView?: GqaRefView;
  kView?: GqaRefView;
  vView?: GqaRefView;
}

type Arr = ArrayLike<number>;

function layout(d: GqaRefDims) {
  const view = (w: GqaRefView | undefined, heads: number) => {
    const off = w?.off ?? 0,
      row = w?.row ?? heads * d.HS,
      head = w?.head ?? d.HS;
    return (b: number, t: number, h: number) => off + (b * d.T + t) * row + h * head;
  };
  return {
    q: view(d.qView, d.NH),
    k: view(d.kView, d.NKV),
    v: view(d.vView, d.NKV),
    o: (b: number, t: number, h: number) => ((b * d.T + t) * d.NH + h) * d.HS,
    G: d.NH / d.NKV,
    scale: d.scale ?? 1 / Math.sqrt(d.HS),
    first: (t: number) => (d.window ? Math.max(0, t - d.window + 1) : 0),
  };
}

/** Forward in float64: out (B·T, NH·HS) and att (B, NH, T, T). */
export function gqaForwardF64(q: Arr, k: Arr, v: Arr, d: GqaRefDims): { out: Float64Array; att: Float64Array } {
  const { B, T, NH, HS } = d;
  if (NH % d.NKV !== 0) throw new Error(`attention-gqa ref: NH=${NH} not a multiple of NKV=${d.NKV}`);
  const L = layout(d);
  const out = new Float64Array(B * T * NH * HS);
  const att = new Float64Array(B * NH * T * T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++) {
      const g = Math.floor(h / L.G);
      for (let t = 0; t < T; t++) {
        const a = ((b * NH + h) * T + t) * T;
        const qi = L.q(b, t, h);
        let max = -Infinity;
        for (let s = L.first(t); s <= t; s++) {
          const ki = L.k(b, s, g);
          let dot = 0;
          for (let i = 0; i < HS; i++) dot += q[qi + i] * k[ki + i];
          att[a + s] = dot * L.scale;
          max = Math.max(max, att[a + s]);
        }
        let sum = 0;
        for (let s = L.first(t); s <= t; s++) sum += att[a + s] = Math.exp(att[a + s] - max);
        for (let s = L.first(t); s <= t; s++) att[a + s] /= sum;
        const o = L.o(b, t, h);
        for (let s = L.first(t); s <= t; s++) {
          const vi = L.v(b, s, g);
          for (let i = 0; i < HS; i++) out[o + i] += att[a + s] * v[vi + i];
        }
      }
    }
  return { out, att };
}

export function gqaForward(q: Arr, k: Arr, v: Arr, d: GqaRefDims): { out: Float32Array; att: Float32Array } {
  const r = gqaForwardF64(q, k, v, d);
  return { out: Float32Array.from(r.out), att: Float32Array.from(r.att) };
}

/**
 * Backward given the saved att: returns dq, dk, dv as arrays shaped like q, k, v (lengths qLen, kLen,
 * vLen; elements outside the views are 0). When q, k, v share one buffer, add the three results.
 */
export function gqaBackward(
  dout: Arr,
  q: Arr,
  k: Arr,
  v: Arr,
  att: Arr,
  d: GqaRefDims,
): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const { B, T, NH, HS } = d;
  const L = layout(d);
  const dq = new Float64Array(q.length),
    dk = new Float64Array(k.length),
    dv = new Float64Array(v.length);
  const datt = new Float64Array(T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++) {
      const g = Math.floor(h / L.G);
      for (let t = 0; t < T; t++) {
        const a = ((b * NH + h) * T + t) * T;
        const o = L.o(b, t, h);
        const qi = L.q(b, t, h);
        let inner = 0;
        for (let s = L.first(t); s <= t; s++) {
          const vi = L.v(b, s, g);
          let dot = 0;
          for (let i = 0; i < HS; i++) {
            dot += dout[o + i] * v[vi + i];
            dv[vi + i] += att[a + s] * dout[o + i];
          }
          datt[s] = dot;
          inner += att[a + s] * dot;
        }
        for (let s = L.first(t); s <= t; s++) {
          const dpre = att[a + s] * (datt[s] - inner) * L.scale;
          const ki = L.k(b, s, g);
          for (let i = 0; i < HS; i++) {
            dq[qi + i] += dpre * k[ki + i];
            dk[ki + i] += dpre * q[qi + i];
          }
        }
      }
    }
  return { dq: Float32Array.from(dq), dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
}

/** gqaDecodeRef's sizes: the forward's heads, scale, window and q view; Tq rows at pos0 against cache views. */
export type GqaDecodeRefDims = Pick<GqaRefDims, 'NH' | 'NKV' | 'HS' | 'scale' | 'window' | 'qView'> & {
  Tq: number;
  pos0: number;
  kcView?: GqaRefView;
  vcView?: GqaRefView;
};

/**
 * Twin of `gqa_decode`, written from the definition: Tq new query rows q (Tq, NH·HS) at positions
 * pos0 … attend to the cache rows kc, vc (S, NKV·HS) visible to them. Returns out (Tq, NH·HS).
 * Views as the kernel's: q row t head h at qView.off + t·row + h·head; cache row s, kv head g at
 * kcView.off + s·row + g·head (GPT-NeoX caches whole fused rows).
 */
export function gqaDecodeRef(q: Arr, kc: Arr, vc: Arr, d: GqaDecodeRefDims): Float32Array {
  const { Tq, pos0, NH, NKV, HS } = d;
  const scale = d.scale ?? 1 / Math.sqrt(HS);
  const G = NH / NKV;
  const at = (w: GqaRefView | undefined, heads: number) => (row: number, h: number) =>
    (w?.off ?? 0) + row * (w?.row ?? heads * HS) + h * (w?.head ?? HS);
  const qAt = at(d.qView, NH),
    kAt = at(d.kcView, NKV),
    vAt = at(d.vcView, NKV);
  const out = new Float32Array(Tq * NH * HS);
  for (let t = 0; t < Tq; t++) {
    const p = pos0 + t;
    const s0 = d.window ? Math.max(0, p - d.window + 1) : 0;
    for (let h = 0; h < NH; h++) {
      const g = Math.floor(h / G);
      const sc: number[] = [];
      for (let s = s0; s <= p; s++) {
        let dot = 0;
        for (let i = 0; i < HS; i++) dot += q[qAt(t, h) + i] * kc[kAt(s, g) + i];
        sc.push(dot * scale);
      }
      const max = Math.max(...sc);
      const e = sc.map((x) => Math.exp(x - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let i = 0; i < HS; i++) {
        let acc = 0;
        e.forEach((w, j) => (acc += w * vc[vAt(s0 + j, g) + i]));
        out[(t * NH + h) * HS + i] = acc / sum;
      }
    }
  }
  return out;
}
