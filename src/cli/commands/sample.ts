/** `sample --model <dir|id> --prompt "…" --seed S`: generate text (temperature, top-k). */
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import { cliGpu } from '../gpu';
import { loadCliModel } from '../model';
import { tokenizerFor } from '../../engine/inputs';
import { createModel } from '../../engine/model/families';
import { sampleText } from '../../engine/generate';

export const help =
  'generate text: --model <dir|id> --prompt "…" [--seed S] [--tokens N] [--temperature T] [--top-k K] [--json]';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'sample',
    booleans: ['json'],
    values: ['model', 'prompt', 'temperature', 'top-k', 'tokens', 'seed'],
  });
  const modelRef = flag(args, 'model');
  if (!modelRef) throw new CliError('sample needs --model <dir|id>');
  const prompt = flag(args, 'prompt') ?? '';
  const temperature = numberFlag(args, 'temperature', 0.8);
  const topK = numberFlag(args, 'top-k', 40);
  const maxTokens = numberFlag(args, 'tokens', 200);
  const seed = numberFlag(args, 'seed', 0);
  if (temperature < 0 || topK < 0 || maxTokens < 1)
    throw new CliError('--temperature and --top-k must be ≥ 0, --tokens ≥ 1');
  const loaded = await loadCliModel(modelRef);
  const gpu = await cliGpu();
  const tokenizer = await tokenizerFor(loaded.config, loaded);
  const model = createModel(gpu, loaded.config, loaded.weights);
  const text = await sampleText(gpu, model, tokenizer, { prompt, maxTokens, temperature, topK, seed });
  if (has(args, 'json')) emit({ model: loaded.id, prompt, seed, temperature, topK, text });
  else console.log(prompt + text);
  return 0;
}
