/**
 * The CLI's tokenization thread (src/cli/tokenize-thread.ts, issue 19 item 2) gives exactly the tokens
 * of the in-thread path, and its refusals keep their class and one-line message across the thread.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tokenizeInThread } from '../../src/cli/tokenize-thread';
import { ConfigError } from '../../src/engine/config';
import { runTokenizeJob, type TokenizeJob } from '../../src/engine/data/tokenize-job';
import type { PreparedText } from '../../src/engine/data/types';
import { ROOT } from '../helpers/cli';

const tokenizerJson = JSON.parse(readFileSync(path.join(ROOT, 'tests/fixtures/hf/tiny/gpt2/tokenizer.json'), 'utf8'));
const text = (train: string, val = 'held out text') =>
  ({ kind: 'text', train, val, hash: 'test' }) as unknown as PreparedText;
const chat = { tokenizerConfig: null, usePlain: false };

describe('tokenization in a worker thread', () => {
  it('the same tokens as in this thread (byte and a tokenizer.json), transferred back', async () => {
    for (const tokenizer of [{ kind: 'byte' as const }, { kind: 'hf' as const, tokenizerJson }]) {
      const job: TokenizeJob = {
        tokenizer,
        data: text('The quick brown fox jumps over the lazy dog. '.repeat(200)),
        completionOnly: true,
        chat,
      };
      const [there, here] = await Promise.all([tokenizeInThread(job), runTokenizeJob(job)]);
      expect(there.train.tokens).toEqual(here.train.tokens);
      expect(there.val.tokens).toEqual(here.val.tokens);
      expect(there.train.tokens.length).toBeGreaterThan(100);
    }
  });

  it("a refusal arrives as the same class with the same one-line message (the coverage check's)", async () => {
    // BPE over lowercase letters with no unknown token: digits are dropped silently, coverage falls
    const vocab = Object.fromEntries([...'abcdefghijklmnopqrstuvwxyz'].map((c, i) => [c, i]));
    const job: TokenizeJob = {
      tokenizer: { kind: 'hf', tokenizerJson: { model: { type: 'BPE', vocab, merges: [] } } },
      data: text('0123456789 '.repeat(100)),
      completionOnly: true,
      chat,
    };
    const here = (await runTokenizeJob(job).catch((e: unknown) => e)) as Error;
    const there = (await tokenizeInThread(job).catch((e: unknown) => e)) as Error;
    expect(here).toBeInstanceOf(Error);
    expect(there).toBeInstanceOf(here.constructor as typeof Error);
    expect(there.name).toBe(here.name);
    expect(there.message).toBe(here.message);
    expect(there.message).not.toContain('\n');
    expect(there).toBeInstanceOf(ConfigError);
    console.log(`refusal across the thread: ${there.name}: ${there.message}`);
  });
});
