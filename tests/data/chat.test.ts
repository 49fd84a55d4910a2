// Instruction data: chat templates through @huggingface/jinja, assistant-only loss masks from
// incremental rendering, chat JSONL parsing, the built-in instruction sets, and padded vs packed rows.
import { describe, expect, it } from 'vitest';
import { Batcher, encodeChats, evalBatches, examplesTrainableAt, tokenizeDataset } from '../../src/engine/data/batcher';
import { resolveInputs } from '../../src/engine/inputs';
import {
  chatFormatFrom,
  chatPrompt,
  PLAIN_CHAT_TEMPLATE,
  renderChat,
  renderSegments,
  type ChatFormat,
  type Conversation,
} from '../../src/engine/data/chat';
import { loadDataset } from '../../src/engine/data/datasets';
import { parseUserDataset, prepareUserDataset } from '../../src/engine/data/user';
import { DatasetError } from '../../src/engine/data/types';
import { createTokenizer } from '../../src/engine/io/tokenizers';
import { parseRunConfig } from '../../src/engine/config';
import { previewData } from '../../src/engine/data/preview';

/** ChatML as SmolLM2 and Qwen2.5 write it (a default system turn when none is given). */
const CHATML =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A Llama-3-like template: BOS first, headers, <|eot_id|> after each turn. */
const LLAMA_LIKE =
  '{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n' +
  '{{ m.content | trim }}<|eot_id|>{% endfor %}' +
  '{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}';

/** Like Qwen3: past assistant turns lose their <think> block once a later user turn exists. */
const DROPS_REASONING =
  "{% for m in messages %}{% if m.role == 'assistant' and not loop.last %}{{ m.content.split('</think>')[-1] }}" +
  "{% else %}{{ m.content }}{% endif %}{{ '\\n' }}{% endfor %}";

const chatml: ChatFormat = chatFormatFrom({ chat_template: CHATML, eos_token: '<|im_end|>' });

const conv: Conversation = {
  messages: [
    { role: 'user', content: 'What is 2 + 2?' },
    { role: 'assistant', content: '4' },
    { role: 'user', content: 'And 3 + 3?' },
    { role: 'assistant', content: '6' },
  ],
};

function rejects(f: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a DatasetError').toBeInstanceOf(DatasetError);
  expect((err as Error).message).toMatch(pattern);
}

const enc = (s: string) => new TextEncoder().encode(s);

describe('chat format', () => {
  it('takes the chat_template from tokenizer_config.json, else the plain template', () => {
    expect(chatml.source).toBe('model');
    expect(chatml.eosToken).toBe('<|im_end|>');
    const named = chatFormatFrom({
      chat_template: [
        { name: 'tool_use', template: 'x' },
        { name: 'default', template: CHATML },
      ],
      bos_token: { content: '<s>' },
    });
    expect(named.template).toBe(CHATML);
    expect(named.bosToken).toBe('<s>');
    expect(chatFormatFrom(null).source).toBe('plain');
    expect(chatFormatFrom({ chat_template: '  ' }).template).toBe(PLAIN_CHAT_TEMPLATE);
    expect(chatFormatFrom({ chat_template: CHATML }, { usePlain: true }).source).toBe('plain');
  });

  it('renders ChatML exactly as the model expects, with and without the generation prompt', () => {
    const one = [{ role: 'user', content: 'hi' }];
    expect(renderChat(one, chatml)).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n',
    );
    expect(chatPrompt(one, chatml).endsWith('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n')).toBe(true);
    const plain = chatFormatFrom({ eos_token: '<|endoftext|>' });
    expect(chatPrompt(one, plain)).toBe('User: hi\nAssistant:');
  });

  it('a template that does not parse or raises is one clear line', () => {
    rejects(() => renderChat(conv.messages, { ...chatml, template: '{% for %}' }), /chat template does not parse/);
    const raising = "{{ raise_exception('Conversation roles must alternate') }}";
    rejects(() => renderChat(conv.messages, { ...chatml, template: raising }), /chat template failed: .*alternate/);
  });
});

describe('assistant-only segments', () => {
  it('train exactly the assistant content and its end-of-turn marker (ChatML)', () => {
    const segs = renderSegments(conv, chatml);
    expect(segs.map((s) => s.text).join('')).toBe(renderChat(conv.messages, chatml));
    expect(segs.filter((s) => s.train).map((s) => s.text)).toEqual(['4<|im_end|>\n', '6<|im_end|>\n']);
    const untrained = segs.filter((s) => !s.train).map((s) => s.text);
    expect(untrained[0].endsWith('<|im_start|>assistant\n')).toBe(true);
    expect(untrained.join('')).toContain('What is 2 + 2?');
  });

  it('BOS and headers stay untrained in a Llama-like template; the plain template trains " answer<eos>\\n"', () => {
    const llama = chatFormatFrom({ chat_template: LLAMA_LIKE, bos_token: '<|begin_of_text|>' });
    const segs = renderSegments(conv, llama);
    expect(segs[0].text.startsWith('<|begin_of_text|>')).toBe(true);
    expect(segs[0].train).toBe(false);
    expect(segs.filter((s) => s.train).map((s) => s.text)).toEqual(['4<|eot_id|>', '6<|eot_id|>']);
    const plain = chatFormatFrom({ eos_token: '<|endoftext|>' });
    expect(
      renderSegments(conv, plain)
        .filter((s) => s.train)
        .map((s) => s.text),
    ).toEqual([' 4<|endoftext|>\n', ' 6<|endoftext|>\n']);
  });

  it('completionOnly=false trains the whole rendering', () => {
    const segs = renderSegments(conv, chatml, false);
    expect(segs).toEqual([{ text: renderChat(conv.messages, chatml), train: true }]);
  });

  it('refuses a template that rewrites earlier turns, instead of masking the wrong tokens', () => {
    const fmt = chatFormatFrom({ chat_template: DROPS_REASONING });
    const c: Conversation = {
      messages: [
        { role: 'user', content: 'q1' },
        { role: 'assistant', content: '<think>hmm</think>a1' },
        { role: 'user', content: 'q2' },
        { role: 'assistant', content: 'a2' },
      ],
    };
    rejects(() => renderSegments(c, fmt), /renders turn 2 differently.*plain template/);
    // every token trained needs no boundaries, so it works
    expect(renderSegments(c, fmt, false)[0].text).toBe('q1\na1\nq2\na2\n');
  });
});

describe('chat JSONL uploads', () => {
  const line = (m: unknown) => JSON.stringify({ messages: m });
  const ok = [
    line([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
    ]),
    line([
      { role: 'system', content: 's' },
      { role: 'user', content: 'c' },
      { role: 'assistant', content: 'd' },
    ]),
  ].join('\n');

  it('parses conversations and splits them like pairs', async () => {
    const ds = parseUserDataset('chat.jsonl', enc(ok + '\n'));
    expect(ds.kind).toBe('chat');
    if (ds.kind !== 'chat') return;
    expect(ds.conversations[1].messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    const p = await prepareUserDataset(ds, { withProbe: false });
    expect(p.kind).toBe('chat');
    if (p.kind !== 'chat') return;
    expect(p.train.length + p.val.length).toBe(2);
  });

  it('names the line and the field that is wrong', () => {
    const pair = JSON.stringify({ prompt: 'p', completion: 'c' });
    rejects(
      () => parseUserDataset('d.jsonl', enc(`${ok}\n${pair}`)),
      /line 3 is a \{"prompt","completion"\} pair but line 1 is a chat/,
    );
    rejects(() => parseUserDataset('d.jsonl', enc(line([]))), /line 1: "messages" must be a non-empty array/);
    rejects(
      () => parseUserDataset('d.jsonl', enc(line([{ role: 'user' }]))),
      /messages\[0\]\.content must be a string \(missing\)/,
    );
    rejects(
      () => parseUserDataset('d.jsonl', enc(line([{ role: 'user', content: [{ type: 'text' }] }]))),
      /an array \(multimodal parts are not supported\)/,
    );
    rejects(() => parseUserDataset('d.jsonl', enc(line([{ role: '', content: 'x' }]))), /messages\[0\]\.role/);
    rejects(
      () => parseUserDataset('d.jsonl', enc(line([{ role: 'user', content: 'x' }]))),
      /no message has role "assistant"/,
    );
  });
});

describe('chat tokens and masks', () => {
  it('mask 1 exactly on the assistant bytes (byte tokenizer: one token per byte)', async () => {
    const tok = await createTokenizer({ kind: 'byte' });
    const plain = chatFormatFrom(null);
    const s = encodeChats([conv], tok, plain);
    const text = renderChat(conv.messages, plain);
    expect(tok.decode(s.tokens)).toBe(text);
    const trained = [...s.tokens].filter((_, i) => s.lossMask![i] === 1);
    expect(tok.decode(trained)).toBe(' 4\n 6\n');
  });

  it('special tokens in the template become single ids; the trained span ends with <|im_end|>', async () => {
    const tok = await createTokenizer({ kind: 'hf', tokenizerJson: chatTokenizerJson() });
    const s = encodeChats([conv], tok, chatml);
    const imEnd = 257;
    const trainedIds = [...s.tokens].filter((_, i) => s.lossMask![i] === 1);
    expect(tok.decode(trainedIds)).toBe('4<|im_end|>\n6<|im_end|>\n');
    expect(trainedIds.filter((t) => t === imEnd)).toHaveLength(2);
    expect(s.tokens.filter((t) => t === 256)).toHaveLength(5); // <|im_start|>: system, 2 user, 2 assistant
  });

  it('the built-in instruction sets are chats over the procedural tasks, same seed ⇒ same data', async () => {
    const a = await loadDataset('chat-addition', { seed: 3, trainSize: 50, withProbe: false });
    const b = await loadDataset('chat-addition', { seed: 3, trainSize: 50, withProbe: false });
    expect(a.kind).toBe('chat');
    if (a.kind !== 'chat' || b.kind !== 'chat') return;
    expect(a.hash).toBe(b.hash);
    expect(a.train).toHaveLength(50);
    const m = a.train[0].messages;
    expect(m[0].content).toMatch(/^What is \d+ \+ \d+\? Answer with the number only\.$/);
    const [x, y] = m[0].content.match(/\d+/g)!.map(Number);
    expect(m[1]).toEqual({ role: 'assistant', content: String(x + y) });
    const c = await loadDataset('chat-addition', { seed: 4, trainSize: 50, withProbe: false });
    expect(c.hash).not.toBe(a.hash);
    const tok = await createTokenizer({ kind: 'byte' });
    const t = tokenizeDataset(a, tok, { chat: chatFormatFrom(null) });
    expect(t.train.starts).toHaveLength(50);
  });

  it('completionOnly=false trains every token of pairs and chats', async () => {
    const tok = await createTokenizer({ kind: 'byte' });
    const ds = await loadDataset('chat-dates', { seed: 1, trainSize: 10, withProbe: false });
    const all = tokenizeDataset(ds, tok, { completionOnly: false });
    expect(all.train.lossMask!.every((v) => v === 1)).toBe(true);
    const pairs = await loadDataset('dates', { seed: 1, trainSize: 10, withProbe: false });
    const masked = tokenizeDataset(pairs, tok);
    expect(masked.train.lossMask!.some((v) => v === 0)).toBe(true);
    expect(tokenizeDataset(pairs, tok, { completionOnly: false }).train.lossMask!.every((v) => v === 1)).toBe(true);
  });
});

describe('padded vs packed rows', () => {
  it('padded rows hold one example and ignore the rest; packed rows run on', async () => {
    const tok = await createTokenizer({ kind: 'byte' });
    const ds = await loadDataset('chat-addition', { seed: 2, trainSize: 40, withProbe: false });
    const { train } = tokenizeDataset(ds, tok);
    const starts = train.starts!;
    const T = 96; // longer than any example: padded rows must end in masked padding
    const padded = new Batcher(train, { B: 8, T, seed: 5, layout: 'padded' }).batchAt(0);
    const packed = new Batcher(train, { B: 8, T, seed: 5 }).batchAt(0);
    for (let b = 0; b < 8; b++) {
      const row = padded.inputs.subarray(b * T, (b + 1) * T);
      const len = exampleIn(train.tokens, starts, row);
      expect(len).toBeGreaterThan(0);
      // targets past the example's last token are padding with mask 0
      for (let t = len - 1; t < T; t++) expect(padded.mask[b * T + t]).toBe(0);
      expect(padded.inputs.subarray(b * T + len, (b + 1) * T).every((v) => v === 0)).toBe(true);
    }
    // packed windows are full of real tokens (the stream is long enough)
    expect(packed.inputs.filter((v) => v === 0)).toHaveLength(0);
    const ev = evalBatches(train, { B: 4, T, layout: 'padded' });
    expect(ev).toHaveLength(10); // 40 examples, one per row
    expect(ev[0].inputs[0]).toBe(train.tokens[starts[0]]);
    expect(ev[0].inputs[T]).toBe(train.tokens[starts[1]]);
  });
});

/** Length of the example whose tokens the row starts with (-1 if none). */
function exampleIn(tokens: Int32Array, starts: Int32Array, row: Int32Array): number {
  for (let k = 0; k < starts.length; k++) {
    const len = (k + 1 < starts.length ? starts[k + 1] : tokens.length) - starts[k];
    if (tokens.subarray(starts[k], starts[k] + len).every((v, i) => v === row[i])) return len;
  }
  return -1;
}

/** A byte-level BPE tokenizer.json with ChatML's special tokens (ids 256, 257). */
function chatTokenizerJson(): Record<string, unknown> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++)
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  const vocab: Record<string, number> = {};
  bs.forEach((b, i) => (vocab[String.fromCharCode(cs[i])] = b));
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  vocab['<|im_start|>'] = 256;
  vocab['<|im_end|>'] = 257;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(256, '<|im_start|>'), special(257, '<|im_end|>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  };
}

describe('data preview', () => {
  it('shows the first examples as tokens with the mask, and length figures against the context', async () => {
    const config = parseRunConfig({
      model: { source: 'builtin', id: 'base' },
      dataset: { source: 'builtin', id: 'chat-addition' },
      train: { contextLength: 32 },
    });
    const p = await previewData(config, {}, 2);
    expect(p.kind).toBe('chat');
    expect(p.template).toBe('plain'); // the byte model has no chat_template
    expect(p.examples).toHaveLength(2);
    const ex = p.examples[0];
    const text = ex.tokens.map((t) => t.text).join('');
    expect(text).toMatch(/^User: What is \d+ \+ \d+\? Answer with the number only\.\nAssistant: \d+\n$/);
    const trained = ex.tokens
      .filter((t) => t.train)
      .map((t) => t.text)
      .join('');
    expect(trained).toMatch(/^ \d+\n$/);
    expect(ex.trained).toBe(trained.length);
    expect(p.statsOver).toBe(2000);
    expect(p.totalExamples).toBe(20_000);
    expect(p.stats.examples).toBe(2000);
    // every example (~60 bytes) is longer than 33 tokens: padded rows cut all of them
    expect(p.stats.overContext).toBe(2000);
    // "User: What is a + b? Answer with the number only.\nAssistant:" is over 33 bytes: no answer in a padded row
    expect(p.stats.answerCut).toBe(2000);
    expect(p.stats.paddingWaste).toBe(0);
    const all = await previewData({ ...config, data: { ...config.data, completionOnly: false } }, {}, 1);
    expect(all.examples[0].tokens.every((t) => t.train)).toBe(true);
    const long = await previewData({ ...config, train: { ...config.train, contextLength: 128 } }, {}, 1);
    expect(long.stats.overContext).toBe(0);
    expect(long.stats.answerCut).toBe(0);
    expect(long.stats.paddingWaste).toBeGreaterThan(0.4);
    expect(long.stats.paddingWaste).toBeCloseTo(1 - (long.stats.meanLength - 1) / 128, 6);
  });
});

describe('a context too short for any answer', () => {
  it('is refused before the run, naming the longest example', async () => {
    const tok = await createTokenizer({ kind: 'byte' });
    const ds = await loadDataset('chat-addition', { seed: 1, trainSize: 20, withProbe: false });
    const { train } = tokenizeDataset(ds, tok);
    expect(examplesTrainableAt(train, 16)).toBe(0); // "User: What is …" is longer than 16 bytes
    expect(examplesTrainableAt(train, 127)).toBe(20);
    const config = parseRunConfig({
      model: { source: 'builtin', id: 'base' },
      dataset: { source: 'builtin', id: 'chat-addition' },
      train: { contextLength: 16 },
    });
    await expect(resolveInputs(config)).rejects.toThrow(/every example's trained tokens lie past the first 16 tokens/);
  });
});
