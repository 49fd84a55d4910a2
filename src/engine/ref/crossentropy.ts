/**
 * CPU reference for the cross-entropy family (shaders/crossentropy.wgsl): softmax over the vocabulary
 * fused with the negative log-likelihood of the target, and its gradient. Float64 arithmetic.
 *
 *   losses[n]    = mask[n]·(logsumexp(logits[n,:]) − logits[n, target[n]])
 *   dlogits[n,v] = gradScale·mask[n]·(softmax(logits[n,:])[v] − [v = target[n]])
 *
 * A row with mask 0, or with a target outside [0, V) (e.g. PyTorch's ignore_index −100), contributes
 * nothing: loss 0 and gradient 0, whatever its logits hold.
 */

type Arr = ArrayLike<number>;

export interface CrossEntropyRefArgs {
  logits: Arr; // (N, V)
  targets: ArrayLike<number>; // (N) int ids
  mask: Arr; // (N)
  N: number;
  V: number;
}

function rowActive(a: CrossEntropyRefArgs, n: number): boolean {
  const t = a.targets[n];
  return a.mask[n] !== 0 && t >= 0 && t < a.V;
}

function rowStats(logits: Arr, o: number, V: number): { max: number; sum: number } {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[o + v]);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[o + v] - max);
  return { max, sum };
}

/** Float64 per-row losses: the finite-difference oracle's f. */
export function crossEntropyForwardF64(a: CrossEntropyRefArgs): Float64Array {
  const { logits, targets, mask, N, V } = a;
  const losses = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (!rowActive(a, n)) continue;
    const o = n * V;
    const { max, sum } = rowStats(logits, o, V);
    losses[n] = mask[n] * (Math.log(sum) + max - logits[o + targets[n]]);
  }
  return losses;
}

export function crossEntropyForward(a: CrossEntropyRefArgs): Float32Array {
  return Float32Array.from(crossEntropyForwardF64(a));
}

export function crossEntropyForwardBackward(a: CrossEntropyRefArgs & { gradScale: number }): {
  losses: Float32Array;
  dlogits: Float32Array;
} {
  const { logits, targets, mask, N, V, gradScale } = a;
  const dlogits = new Float32Array(N * V);
  for (let n = 0; n < N; n++) {
    if (!rowActive(a, n)) continue;
    const o = n * V;
    const { max, sum } = rowStats(logits, o, V);
    const k = gradScale * mask[n];
    for (let v = 0; v < V; v++) {
      const p = Math.exp(logits[o + v] - max) / sum;
      dlogits[o + v] = k * (p - (v === targets[n] ? 1 : 0));
    }
  }
  return { losses: crossEntropyForward(a), dlogits };
}

/** probs[n,:] = softmax(logits[n,:] / temperature): logits (N, V). */
export function softmaxRows(a: { logits: Arr; N: number; V: number; temperature?: number }): Float32Array {
  const { logits, N, V } = a;
  const invT = 1 / (a.temperature ?? 1);
  const probs = new Float32Array(N * V);
  for (let n = 0; n < N; n++) {
    const o = n * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[o + v] * invT);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[o + v] * invT - max);
    for (let v = 0; v < V; v++) probs[o + v] = Math.exp(logits[o + v] * invT - max) / sum;
  }
  return probs;
}
