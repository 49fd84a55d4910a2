/**
 * `sample --model <dir|id> --prompt "…" --seed S`: generate text (temperature, top-k, top-p), decoded
 * with the KV cache for every model family (`--no-cache` re-runs the full forward per token); a cache
 * above RANKSCOPE_MEMORY_BUDGET (default ¾ of RAM) or the adapter's buffer limit is refused in one line.
 * `--stream` writes each token as it is drawn (with --json: one {"index","token","text"} line per token,
 * text = everything so far).
 */
import { validateGeneration } from '../../engine/validate';
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import { cliGpu } from '../gpu';
import { loadCliModel } from '../model';
import { tokenizerFor } from '../../engine/inputs';
import { createModel } from '../../engine/model/families';
import { sampleText } from '../../engine/generate';
import { cliMemoryBudget } from '../budget';

export const help =
  'generate text: --model <dir|id> --prompt "…" [--seed S] [--tokens N] [--temperature T] [--top-k K] [--top-p P] [--stream] [--no-cache] [--json]';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'sample',
    booleans: ['json', 'stream', 'no-cache'],
    values: ['model', 'prompt', 'temperature', 'top-k', 'top-p', 'tokens', 'seed'],
  });
  const modelRef = flag(args, 'model');
  if (!modelRef) throw new CliError('sample needs --model <dir|id>');
  const prompt = flag(args, 'prompt') ?? '';
  const temperature = numberFlag(args, 'temperature', 0.8);
  const topK = numberFlag(args, 'top-k', 40);
  const maxTokens = numberFlag(args, 'tokens', 200);
  const seed = numberFlag(args, 'seed', 0);
  const topP = numberFlag(args, 'top-p', 1);
  // the shared bounds (src/engine/validate.ts): --tokens 1000000 would run until killed (issue 18)
  const bounds = validateGeneration({ maxTokens, temperature, topK });
  if (bounds.length) throw new CliError(bounds.map((b) => `--${b}`).join('; '));
  if (!(topP > 0 && topP <= 1)) throw new CliError(`--top-p must be in (0, 1], got ${topP}`);
  const json = has(args, 'json');
  const cache = !has(args, 'no-cache');
  const loaded = await loadCliModel(modelRef);
  const gpu = await cliGpu();
  const tokenizer = await tokenizerFor(loaded.config, loaded);
  const model = createModel(gpu, loaded.config, loaded.weights);
  const ids: number[] = [];
  let written = '';
  const onToken = has(args, 'stream')
    ? (id: number, index: number) => {
        ids.push(id);
        const sofar = tokenizer.decode(ids);
        if (json) return emit({ index, token: id, text: sofar });
        // write only what is settled: a byte tokenizer can end mid-character (U+FFFD until the rest arrives)
        const settled = sofar.replace(/\uFFFD+$/, '');
        if (settled.startsWith(written)) process.stdout.write(settled.slice(written.length));
        written = settled;
      }
    : undefined;
  if (onToken && !json) process.stdout.write(prompt);
  const text = await sampleText(
    gpu,
    model,
    tokenizer,
    // the KV cache is planned against the same budget a CLI training run gets (RANKSCOPE_MEMORY_BUDGET)
    { prompt, maxTokens, temperature, topK, topP, seed, cache, memoryBudget: cliMemoryBudget() },
    { onToken },
  );
  if (json) emit({ model: loaded.id, prompt, seed, temperature, topK, topP, text });
  else if (onToken) process.stdout.write(text.slice(written.length) + '\n');
  else console.log(prompt + text);
  return 0;
}
