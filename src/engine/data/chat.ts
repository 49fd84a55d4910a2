/**
 * Chat data: conversations `{"messages": [{"role", "content"}, …]}` rendered through a model's
 * `chat_template` (the Jinja template in its `tokenizer_config.json`, rendered by @huggingface/jinja,
 * the same renderer transformers.js uses) or, when the model has none, through a plain template.
 *
 * Loss masking. A conversation becomes a list of segments, each either trained (an assistant turn:
 * its content plus whatever end-of-turn marker the template writes after it, e.g. `<|im_end|>\n`) or
 * not (system/user turns and the template's own headers such as `<|im_start|>assistant\n`). This is
 * how TRL's `assistant_only_loss` and the transformers `{% generation %}` blocks mask: the model
 * learns to answer and to stop, never to imitate the user. The boundaries come from incremental
 * rendering: for assistant turn i, P = render(messages[:i], add_generation_prompt = true) is where
 * the answer starts and Q = render(messages[:i+1]) where it ends, both prefixes of the full
 * rendering. A template that renders earlier turns differently once later ones exist (Qwen3 drops
 * past reasoning) is not prefix-stable; it is refused with a message instead of masking wrongly.
 *
 * Nothing here tokenizes; `batcher.ts` encodes each segment separately so the mask boundary is exact.
 */
import { Template } from '@huggingface/jinja';
import { DatasetError } from './types';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface Conversation {
  messages: ChatMessage[];
}

/** A piece of rendered text and whether its tokens count in the loss. */
export interface Segment {
  text: string;
  train: boolean;
}

export interface ChatFormat {
  /** 'model' = the model's chat_template; 'plain' = PLAIN_CHAT_TEMPLATE. */
  source: 'model' | 'plain';
  template: string;
  bosToken: string;
  eosToken: string;
}

/**
 * The fallback for models without a chat_template (GPT-2, Pythia, the built-in byte model): one line
 * per turn, "User: …" / "Assistant: …", so a base model sees text shaped like its pretraining data.
 * The assistant's turn ends with the EOS token where the model has one (GPT-2's <|endoftext|>),
 * so generation learns to stop; the byte model has none and stops at the newline.
 */
export const PLAIN_CHAT_TEMPLATE =
  "{% for m in messages %}{% if m.role == 'assistant' %}Assistant: {{ m.content }}{{ eos_token }}\n" +
  '{% else %}{{ m.role | capitalize }}: {{ m.content }}\n{% endif %}{% endfor %}' +
  '{% if add_generation_prompt %}Assistant:{% endif %}';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function tokenText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return '';
}

/**
 * The chat format of a model from its tokenizer_config.json (null/undefined → plain), parsed or as
 * io/hf-model.ts summarises it. A
 * `chat_template` may be a string or a list of named templates (`[{name, template}]`); the one named
 * "default" is used, as transformers does.
 */
export function chatFormatFrom(tokenizerConfig: unknown, opts: { usePlain?: boolean } = {}): ChatFormat {
  let cfg = isObject(tokenizerConfig) ? tokenizerConfig : {};
  // io/hf-model.ts's summary ({ raw, chatTemplate }): its template may come from chat_template.jinja
  if (isObject(cfg.raw)) {
    const tpl = typeof cfg.chatTemplate === 'string' ? cfg.chatTemplate : cfg.raw.chat_template;
    cfg = { ...cfg.raw, chat_template: tpl };
  }
  const bosToken = tokenText(cfg.bos_token);
  const eosToken = tokenText(cfg.eos_token);
  let template: string | null = null;
  const ct = cfg.chat_template;
  if (typeof ct === 'string' && ct.trim().length > 0) template = ct;
  else if (Array.isArray(ct)) {
    const named = ct.find((t) => isObject(t) && t.name === 'default');
    if (isObject(named) && typeof named.template === 'string') template = named.template;
  }
  if (template === null || opts.usePlain) return { source: 'plain', template: PLAIN_CHAT_TEMPLATE, bosToken, eosToken };
  return { source: 'model', template, bosToken, eosToken };
}

const compiled = new Map<string, Template>();

function compile(template: string): Template {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new DatasetError(`the chat template does not parse: ${(e as Error).message}`);
    }
    compiled.set(template, t);
  }
  return t;
}

/** Render messages through the format's template (throws DatasetError on template errors). */
export function renderChat(messages: readonly ChatMessage[], fmt: ChatFormat, addGenerationPrompt = false): string {
  try {
    return compile(fmt.template).render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: fmt.bosToken,
      eos_token: fmt.eosToken,
    });
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    // templates raise on inputs they refuse (e.g. "Conversation roles must alternate user/assistant")
    throw new DatasetError(`the chat template failed: ${(e as Error).message}`);
  }
}

/** The text a model continues to answer `messages` (generation uses the template too). */
export function chatPrompt(messages: readonly ChatMessage[], fmt: ChatFormat): string {
  return renderChat(messages, fmt, true);
}

/**
 * Segments of one conversation. With `completionOnly` false every segment is trained (plain
 * language modelling on the rendered text). Throws DatasetError when the template is not
 * prefix-stable, or when a conversation has no assistant turn to learn from.
 */
export function renderSegments(conv: Conversation, fmt: ChatFormat, completionOnly = true): Segment[] {
  const msgs = conv.messages;
  const full = renderChat(msgs, fmt);
  if (!completionOnly) return full.length > 0 ? [{ text: full, train: true }] : [];
  const segs: Segment[] = [];
  let pos = 0;
  for (let i = 0; i < msgs.length; i++) {
    if (msgs[i].role !== 'assistant') continue;
    const start = renderChat(msgs.slice(0, i), fmt, true);
    const end = i === msgs.length - 1 ? full : renderChat(msgs.slice(0, i + 1), fmt);
    if (!full.startsWith(start) || !full.startsWith(end) || start.length < pos || end.length < start.length) {
      throw new DatasetError(
        `the ${fmt.source === 'model' ? "model's chat template" : 'chat template'} renders turn ${i + 1} differently once later turns follow (e.g. it drops earlier reasoning), so the assistant's tokens cannot be located; train on all tokens or use the plain template`,
      );
    }
    if (start.length > pos) segs.push({ text: full.slice(pos, start.length), train: false });
    if (end.length > start.length) segs.push({ text: full.slice(start.length, end.length), train: true });
    pos = end.length;
  }
  if (!segs.some((s) => s.train)) throw new DatasetError('a conversation has no assistant turn to learn from');
  if (pos < full.length) segs.push({ text: full.slice(pos), train: false });
  return segs;
}

/** Validate one parsed JSONL object as a conversation; `where` names the file and line. */
export function parseConversation(obj: Record<string, unknown>, where: string): Conversation {
  const messages = obj.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new DatasetError(`${where}: "messages" must be a non-empty array of {"role", "content"}`);
  }
  const out: ChatMessage[] = [];
  messages.forEach((m, j) => {
    if (!isObject(m)) throw new DatasetError(`${where}: messages[${j}] must be an object {"role", "content"}`);
    const { role, content } = m;
    if (typeof role !== 'string' || role.length === 0) {
      throw new DatasetError(`${where}: messages[${j}].role must be a non-empty string such as "user" or "assistant"`);
    }
    if (typeof content !== 'string') {
      throw new DatasetError(
        `${where}: messages[${j}].content must be a string${content === undefined ? ' (missing)' : `, got ${content === null ? 'null' : Array.isArray(content) ? 'an array (multimodal parts are not supported)' : typeof content}`}`,
      );
    }
    out.push({ role, content });
  });
  if (!out.some((m) => m.role === 'assistant')) {
    throw new DatasetError(`${where}: no message has role "assistant"; there is nothing to learn to answer`);
  }
  return { messages: out };
}
