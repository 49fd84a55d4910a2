/**
 * Entry of the CLI's tokenization thread (src/cli/tokenize-thread.ts bundles it and starts it as a
 * `node:worker_threads` Worker): runs each TokenizeJob it is sent, one at a time, and posts the tokens
 * back (their buffers transferred) or the error's name and message, under the job's id.
 */
import { parentPort } from 'node:worker_threads';
import { runTokenizeJob, type TokenizeJob } from '../engine/data/tokenize-job';

parentPort!.on('message', ({ id, job }: { id: number; job: TokenizeJob }) => void handle(id, job));

function handle(id: number, job: TokenizeJob): Promise<void> {
  return runTokenizeJob(job).then(
    (data) => {
      const buffers = [data.train, data.val, data.probe]
        .filter((s) => s !== undefined)
        .flatMap((s) => [s!.tokens, s!.lossMask, s!.starts])
        .filter((v) => !!v)
        .map((v) => v!.buffer as ArrayBuffer);
      parentPort!.postMessage({ id, ok: true, data }, [...new Set(buffers)]);
    },
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      parentPort!.postMessage({ id, ok: false, name: err.name, message: err.message });
    },
  );
}
