/**
 * `score --model M (--text FILE | --ids FILE) --json`: per-token losses of ONE sequence, in nats,
 * `losses[i] = −ln p(ids[i+1] | ids[0..i])` — how a person checks that a loaded model matches the
 * reference implementation (transformers' `CrossEntropyLoss(reduction="none")` on shifted logits), and
 * how our family tests do. `--ids` reads whitespace-separated token ids and needs no tokenizer; `--text`
 * encodes the file with the model's tokenizer (no BOS added). No batching tricks: B = 1, T = n − 1.
 */
import { promises as fs } from 'node:fs';
import { CliError, emit, flag, has, parseArgs } from '../args';
import { cliGpu } from '../gpu';
import { loadCliModel } from '../model';
import { tokenizerFor } from '../../engine/inputs';
import { createModel } from '../../engine/model/families';
import { scoreSequence } from '../../engine/score';

export const help =
  'per-token losses of one sequence: --model <dir|id|hf:owner/name> (--ids FILE | --text FILE) [--json]';

/** Whitespace-separated non-negative integer ids; one line naming the first bad token. */
export function parseIds(text: string, V: number): number[] {
  const parts = text.split(/\s+/).filter(Boolean);
  return parts.map((p, i) => {
    if (!/^\d+$/.test(p))
      throw new CliError(`--ids: token ${i + 1} ("${p.slice(0, 20)}") is not a non-negative integer`);
    const id = Number(p);
    if (id >= V) throw new CliError(`--ids: token ${i + 1} is id ${id}, outside the vocabulary [0, ${V})`);
    return id;
  });
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { command: 'score', booleans: ['json'], values: ['model', 'ids', 'text'] });
  const modelRef = flag(args, 'model');
  const idsFile = flag(args, 'ids'),
    textFile = flag(args, 'text');
  if (!modelRef || !idsFile === !textFile)
    throw new CliError('score needs --model M and one of --ids FILE or --text FILE');
  const read = async (f: string) => {
    try {
      return await fs.readFile(f, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read ${f}: ${(e as Error).message}`);
    }
  };
  const loaded = await loadCliModel(modelRef);
  const cfg = loaded.config;
  let ids: number[];
  if (idsFile) ids = parseIds(await read(idsFile), cfg.vocabSize);
  else ids = (await tokenizerFor(cfg, loaded)).encode(await read(textFile!));
  if (ids.length < 2) throw new CliError(`score needs at least 2 tokens, got ${ids.length}`);
  if (ids.length - 1 > cfg.contextLength)
    throw new CliError(
      `the sequence has ${ids.length} tokens; this model's context is ${cfg.contextLength} (+1 target)`,
    );
  const gpu = await cliGpu();
  const model = createModel(gpu, cfg, loaded.weights);
  try {
    const losses = await scoreSequence(gpu, model, ids);
    const meanLoss = losses.reduce((x, y) => x + y, 0) / losses.length;
    if (has(args, 'json')) emit({ tokens: ids.length, meanLoss, losses });
    else console.log(`${ids.length} tokens, mean loss ${meanLoss.toFixed(6)} nats`);
  } finally {
    model.destroy();
  }
  return 0;
}
