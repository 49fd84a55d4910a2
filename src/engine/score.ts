/**
 * Per-token losses of one sequence: losses[i] = −ln p(ids[i+1] | ids[0..i]) in nats (B = 1, T = n − 1),
 * as transformers' CrossEntropyLoss(reduction="none") on shifted logits. The CLI's `score` and the
 * family tests use it to check a loaded model against the reference implementation.
 */
import type { Gpu } from '../gpu/device';
import type { LanguageModel } from './model/language-model';

export async function scoreSequence(gpu: Gpu, model: LanguageModel, ids: readonly number[]): Promise<number[]> {
  if (ids.length < 2) throw new Error(`scoring needs at least 2 tokens, got ${ids.length}`);
  const T = ids.length - 1;
  if (T > model.cfg.contextLength)
    throw new Error(
      `the sequence has ${ids.length} tokens; this model's context is ${model.cfg.contextLength} (+1 target)`,
    );
  model.setBatch(1, T, Int32Array.from(ids.slice(0, T)), Int32Array.from(ids.slice(1)), null);
  const enc = gpu.encoder('score');
  model.forward(enc, 1, T);
  model.loss(enc, 1, T);
  enc.submit();
  const losses = Array.from(await gpu.read(model.activations.losses, T));
  gpu.throwIfFailed();
  return losses;
}
