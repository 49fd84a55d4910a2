/**
 * `eval --model <dir|id> --dataset <id>`: validation loss in nats per token (and exact-match accuracy
 * for procedural tasks), on the dataset's fixed validation split.
 */
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import { cliGpu } from '../gpu';
import { loadCliModel } from '../model';
import { tokenizerFor, tokenizerSpecFor } from '../../engine/inputs';
import { tokenizeInThread } from '../tokenize-thread';
import { loadDataset } from '../../engine/data/datasets';
import { evalBatches } from '../../engine/data/batcher';
import { createModel } from '../../engine/model/families';
import { meanLoss } from '../../engine/train';
import { sampleTokens } from '../../engine/generate';
import { exactMatch } from '../../engine/data/procedural';

export const help =
  'validation loss (nats/token) of a model on a dataset: --model <dir|id> --dataset <id> [--batches N] [--json]';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'eval',
    booleans: ['json'],
    values: ['model', 'dataset', 'seed', 'context', 'batch', 'batches', 'examples'],
  });
  const modelRef = flag(args, 'model');
  const datasetId = flag(args, 'dataset');
  if (!modelRef || !datasetId) throw new CliError('eval needs --model <dir|id> and --dataset <id>');
  const loaded = await loadCliModel(modelRef);
  const gpu = await cliGpu();
  const tokenizer = await tokenizerFor(loaded.config, loaded);
  const ds = await loadDataset(datasetId, { seed: numberFlag(args, 'seed', 0), withProbe: false });
  // in a worker thread, as train does: a slow tokenizer cannot hold off Ctrl-C / SIGTERM (tokenize-thread.ts)
  const data = await tokenizeInThread({
    tokenizer: tokenizerSpecFor(loaded.config, loaded),
    data: ds,
    completionOnly: true,
    chat: { tokenizerConfig: null, usePlain: false },
    checkCoverage: false,
  });
  // Match the card's protocol when there is one: same batch shape and number of batches.
  const card = loaded.card;
  const T = numberFlag(args, 'context', Number(card?.contextLength ?? loaded.config.contextLength));
  const B = numberFlag(args, 'batch', Number(card?.batchSize ?? 8));
  const maxBatches = numberFlag(args, 'batches', Number(card?.valBatches ?? 32));
  const model = createModel(gpu, loaded.config, loaded.weights);
  const batches = evalBatches(data.val, { B, T, maxBatches });
  const valLoss = await meanLoss(gpu, model, batches, B, T);
  const tokens = batches.reduce((a, b) => a + b.mask.reduce((x, y) => x + y, 0), 0);
  const out: Record<string, unknown> = {
    model: loaded.id,
    dataset: datasetId,
    valLoss,
    tokens,
    B,
    T,
    batches: maxBatches,
  };
  if (ds.kind === 'pairs') {
    const n = Math.min(ds.val.length, numberFlag(args, 'examples', 50));
    let correct = 0;
    const newline = tokenizer.encode('\n')[0];
    for (const ex of ds.val.slice(0, n)) {
      const ids = await sampleTokens(gpu, model, tokenizer.encode(ex.prompt), {
        maxTokens: tokenizer.encode(ex.completion).length + 2,
        temperature: 0,
        topK: 0,
        seed: 0,
        stopAt: newline,
      });
      if (exactMatch(tokenizer.decode(ids), ex.completion)) correct++;
    }
    out.accuracy = correct / n;
    out.examples = n;
  }
  if (has(args, 'json')) emit(out);
  else
    console.log(
      Object.entries(out)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n'),
    );
  return 0;
}
