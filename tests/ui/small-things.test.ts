/**
 * Issue 16 item 6: validation messages in plain words (no zod text on screen, in links or imports), one
 * dataset size (the text's, compressed in parentheses), and the default model on first open.
 */
import { describe, expect, it } from 'vitest';
import { issuesOneLine, plainSchemaMessage } from '../../src/engine/strings';
import { validateSetup } from '../../src/ui/validate';
import { defaultDraft, setIn } from '../../src/ui/draft';
import { datasetSizeText } from '../../src/ui/catalog';
import { decodeFragment, buildFragment } from '../../src/ui/share';
import { firstModelKey } from '../../src/ui/setupActions';

const RAW = /Too (small|big)|Invalid (input|option)|expected (number|int|string|array)|received/;

describe('plain words', () => {
  it('every schema message the form shows is plain', () => {
    const d0 = defaultDraft();
    const cases: [string, unknown, RegExp][] = [
      ['train.lr', -1, /^Must be greater than 0\.$/],
      ['train.lr', Number.NaN, /^Enter a number\.$/],
      ['train.steps', 1.5, /^Must be a whole number\.$/],
      ['train.batchSize', 'abc', /^Must be a number, not text\.$/],
      ['train.contextLength', 100000, /^Must be at most 8192\.$/],
      ['analysis.eps', 2, /^Must be less than 1\.$/],
      ['train.schedule', 'weird', /^Choose one of cosine, linear, constant\.$/],
      ['dataset.id', '', /^Must not be empty\.$/],
      ['targets.modules', [], /^Choose at least one\.$/],
    ];
    for (const [path, value, want] of cases) {
      const v = validateSetup(setIn(d0, path, value), {
        methods: [],
        arch: null,
        localModelReady: true,
        uploadReady: true,
      });
      const here = v.issues.filter((i) => i.path === path);
      expect(here.length, path).toBeGreaterThan(0);
      expect(here[0].message, path).toMatch(want);
      for (const i of v.issues) expect(i.message).not.toMatch(RAW);
    }
  });
  it('one-line issue lists (links, imports, CLI) are plain too; our own messages pass unchanged', () => {
    expect(issuesOneLine([{ path: ['train', 'lr'], message: 'Too small: expected number to be >0' }])).toBe(
      'must be greater than 0 (at train.lr)',
    );
    expect(plainSchemaMessage('Unrecognized key: "foo"')).toBe('unknown setting "foo"');
    expect(plainSchemaMessage('Warmup is longer than the run')).toBe('Warmup is longer than the run');
    const cfg = setIn(defaultDraft(), 'train.lr', 1e-3);
    const frag = buildFragment(cfg);
    expect(decodeFragment(`#${frag}`).ok).toBe(true);
  });
});

describe('dataset size', () => {
  it('the text size, the compressed download in parentheses; generated sets have none', () => {
    expect(datasetSizeText({ rawBytes: 530121, bytes: 215272 })).toBe('518 KiB (210 KiB compressed)');
    expect(datasetSizeText({ rawBytes: 1000 })).toBe('1000 B');
    expect(datasetSizeText({})).toBeNull();
  });
});

describe('first visit', () => {
  it('starts on the pretrained base model, not the micro test model', () => {
    expect(firstModelKey(['micro', 'base'])).toBe('builtin:base');
    expect(firstModelKey(['micro'])).toBe('builtin:micro');
    expect(firstModelKey([])).toBe('preset:micro');
  });
});
