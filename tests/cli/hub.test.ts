// `--model hf:owner/name[@rev]` from the CLI, as a person runs it, against the local mock hub: the model is
// downloaded into HF_HUB_CACHE with a progress line and used; a second run works offline with no request;
// a missing repo, a gated repo and a cut connection each end in one line on stderr.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ourErrors, runCli } from '../helpers/cli';
import { startHubServer, type HubServer } from '../helpers/hub-server';

let hub: HubServer;
let cache: string;

beforeAll(async () => {
  hub = await startHubServer();
  cache = mkdtempSync(path.join(os.tmpdir(), 'rankscope-hubcli-'));
});
afterAll(async () => {
  await hub.close();
  rmSync(cache, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  HF_HUB_CACHE: cache,
  HF_ENDPOINT: hub.endpoint,
  HF_TOKEN: '',
  HF_HUB_OFFLINE: '',
  ...extra,
});
const sample = (model: string) => [
  'sample',
  '--model',
  model,
  '--prompt',
  'the cat',
  '--tokens',
  '4',
  '--seed',
  '3',
  '--json',
];

describe('cli --model hf:', () => {
  it('downloads into the HF cache with progress, then runs offline from it', { timeout: 120_000 }, async () => {
    const first = await runCli(sample('hf:tiny/gpt2'), { env: env() });
    expect(first.code, first.stderr).toBe(0);
    const commit = hub.commitOf('tiny/gpt2');
    const out = first.lines.find((l) => 'text' in l && 'model' in l)!;
    expect(out.model).toBe(`hf:tiny/gpt2@${commit}`);
    expect(first.stderr).toContain(`downloading hf:tiny/gpt2 into ${path.join(cache, 'models--tiny--gpt2')}`);
    expect(first.stderr).toMatch(/ {2}model\.safetensors {2}146\.0 KiB \/ 146\.0 KiB \(100%\) {2}\S+ \S+\/s {2}done/);

    hub.requests.length = 0;
    const second = await runCli(sample('hf:tiny/gpt2'), { env: env({ HF_HUB_OFFLINE: '1' }) });
    expect(second.code, second.stderr).toBe(0);
    expect(hub.requests).toEqual([]);
    expect(second.stderr).not.toContain('downloading');
    // same model, same seed: same text
    expect(second.lines.find((l) => 'model' in l)).toEqual(out);
  });

  it(
    'train on a hub model, stop, and --resume without --model: the model comes back from the cache',
    {
      timeout: 180_000,
    },
    async () => {
      const data = path.join(cache, 'tiny.txt');
      writeFileSync(data, Array.from({ length: 200 }, (_, i) => `the cat ${i % 7} sat on the mat ${i % 5}`).join('\n'));
      const out = path.join(cache, 'run');
      const first = await runCli(
        [
          'train',
          '--model',
          'hf:tiny/gpt2',
          '--dataset',
          data,
          '--steps',
          '2',
          '--batch',
          '1',
          '--context',
          '16',
        ].concat(['--out', out, '--checkpoint-every', '1', '--stop-after', '1', '--json']),
        { env: env() },
      );
      expect(first.code, first.stderr).toBe(0);
      const id = `hf:tiny/gpt2@${hub.commitOf('tiny/gpt2')}`;
      expect(first.lines.find((l) => 'summary' in l)?.summary).toMatchObject({ model: id, steps: 1, complete: false });
      hub.requests.length = 0;
      const resumed = await runCli(['train', '--resume', out, '--dataset', data, '--json'], {
        env: env({ HF_HUB_OFFLINE: '1' }),
      });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.lines.filter((l) => 'step' in l).map((l) => l.step)).toEqual([2]);
      expect(resumed.lines.find((l) => 'summary' in l)?.summary).toMatchObject({ model: id, complete: true });
      expect(hub.requests).toEqual([]);
    },
  );

  it(
    'a missing repo, a bare owner/name, a gated repo and a cut connection each give one line',
    { timeout: 120_000 },
    async () => {
      const lastLine = (stderr: string) => ourErrors(stderr).at(-1) ?? '';

      const missing = await runCli(sample('hf:tiny/does-not-exist'), { env: env() });
      expect(missing.code).not.toBe(0);
      expect(lastLine(missing.stderr)).toMatch(
        /^rankscope: hf:tiny\/does-not-exist: repository tiny\/does-not-exist not found on http:\/\/127\.0\.0\.1:\d+ \(check the id; a private repository needs HF_TOKEN\)$/,
      );

      const bare = await runCli(sample('tiny/gpt2'), { env: env() });
      expect(lastLine(bare.stderr)).toBe(
        'rankscope: --model tiny/gpt2: no such folder (for the Hugging Face Hub model, write --model hf:tiny/gpt2)',
      );

      hub.faults.gated!.set('tiny/qwen3', 'hf_ok');
      const gated = await runCli(sample('hf:tiny/qwen3'), { env: env() });
      expect(gated.code).not.toBe(0);
      expect(lastLine(gated.stderr)).toMatch(
        /^rankscope: hf:tiny\/qwen3 is a gated repository; accept the licence on .* set HF_TOKEN/,
      );
      hub.faults.gated!.clear();

      hub.faults.cut = { file: 'model.safetensors', afterBytes: 10_000 };
      const cut = await runCli(sample('hf:tiny/gpt-neo'), { env: env() });
      expect(cut.code).not.toBe(0);
      expect(lastLine(cut.stderr)).toMatch(
        /^rankscope: hf:tiny\/gpt-neo: download of model\.safetensors stopped at \d+ of \d+ bytes \(.*\); run the same command again to resume$/,
      );
    },
  );
});
