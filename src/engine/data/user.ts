/**
 * Datasets a person brings: a `.txt` file (plain UTF-8 text, trained as a language-modelling stream)
 * or a `.jsonl` file of {"prompt": …, "completion": …} objects (trained with loss on completions), or
 * of chat {"messages": [{"role", "content"}, …]} objects (rendered through the model's chat template,
 * loss on the assistant's turns; chat.ts). One file holds one kind.
 *
 * Every rejection is a DatasetError whose message says what to fix (which line, which field, how big),
 * because the file came from outside and the person needs to repair it, not read a stack trace.
 * Nothing here touches the network or storage; the caller keeps the bytes.
 */
import { sha256Hex } from '../io/assets';
import { parseConversation, type Conversation } from './chat';
import { loadForgettingProbe } from './datasets';
import { SPLIT_SEED, checkFraction, splitExamples, splitText, splitUnits } from './split';
import { DatasetError, type Example, type PreparedText } from './types';

export const DEFAULT_MAX_USER_BYTES = 20 * 1024 * 1024;

/** More than this fraction of undecodable characters and the file is treated as not-text. */
const MAX_INVALID_UTF8_RATIO = 0.01;

interface UserBase {
  name: string;
  /** The uploaded bytes, kept for the content hash. */
  bytes: Uint8Array;
  /** Non-fatal notes for the UI (e.g. a few invalid UTF-8 sequences were replaced). */
  warnings: string[];
}

export type UserDataset =
  | (UserBase & { kind: 'text'; text: string })
  | (UserBase & { kind: 'pairs'; examples: Example[] })
  | (UserBase & { kind: 'chat'; conversations: Conversation[] });

export interface ParseUserOptions {
  /** Largest accepted file, in bytes (default 20 MiB). */
  maxBytes?: number;
}

function size(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** Decode UTF-8, rejecting binary files; tolerate a few bad sequences (with a warning). */
function decodeText(name: string, bytes: Uint8Array, warnings: string[]): string {
  if (bytes.indexOf(0) !== -1) {
    throw new DatasetError(
      `${name} contains NUL bytes: it looks like a binary file (or UTF-16 text); save it as UTF-8 text`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    let replaced = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0xfffd) replaced++;
    // genuine U+FFFD characters in the file (EF BF BD) are not decoding errors
    for (let i = 0; i + 2 < bytes.length; i++)
      if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) replaced--;
    if (replaced > MAX_INVALID_UTF8_RATIO * Math.max(1, text.length)) {
      throw new DatasetError(
        `${name} is not UTF-8 text (${replaced} invalid byte sequences in ${text.length} characters); save it as UTF-8`,
      );
    }
    warnings.push(`${replaced} invalid UTF-8 sequence(s) replaced with U+FFFD`);
  }
  // a BOM is an encoding marker, not content; CRLF → LF so lines and splits agree across platforms
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.replace(/\r\n?/g, '\n');
}

function parseJsonl(name: string, text: string): { examples: Example[]; conversations: Conversation[] } {
  const lines = text.split('\n');
  const examples: Example[] = [];
  const conversations: Conversation[] = [];
  let firstKind: { kind: 'pairs' | 'chat'; line: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length === 0) continue;
    const where = `${name} line ${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new DatasetError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new DatasetError(
        `${where}: expected an object {"prompt": "...", "completion": "..."} or {"messages": [{"role": "...", "content": "..."}]}`,
      );
    }
    const kind = 'messages' in obj ? 'chat' : 'pairs';
    firstKind ??= { kind, line: i + 1 };
    if (kind !== firstKind.kind) {
      const what = (k: string) => (k === 'chat' ? 'a chat {"messages"} example' : 'a {"prompt","completion"} pair');
      throw new DatasetError(
        `${where} is ${what(kind)} but line ${firstKind.line} is ${what(firstKind.kind)}; one file holds one kind`,
      );
    }
    if (kind === 'chat') {
      conversations.push(parseConversation(obj as Record<string, unknown>, where));
      continue;
    }
    const { prompt, completion } = obj as Record<string, unknown>;
    if (typeof prompt !== 'string') {
      throw new DatasetError(
        `${where}: "prompt" must be a string${prompt === undefined ? ' (missing)' : `, got ${prompt === null ? 'null' : typeof prompt}`}`,
      );
    }
    if (typeof completion !== 'string') {
      throw new DatasetError(
        `${where}: "completion" must be a string${completion === undefined ? ' (missing)' : `, got ${completion === null ? 'null' : typeof completion}`}`,
      );
    }
    // an empty completion would train only the separator: almost certainly a broken export
    if (completion.length === 0) throw new DatasetError(`${where}: "completion" is empty`);
    examples.push({ prompt, completion });
  }
  if (examples.length + conversations.length === 0)
    throw new DatasetError(`${name} has no examples (every line is blank)`);
  return { examples, conversations };
}

/**
 * Parse an uploaded file by extension: `.txt` → text, `.jsonl` → prompt/completion pairs or chats.
 * Throws DatasetError for an unsupported extension, an empty, oversized or binary file, invalid
 * UTF-8, or a malformed JSONL line (named by number).
 */
export function parseUserDataset(name: string, bytes: Uint8Array, opts: ParseUserOptions = {}): UserDataset {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_USER_BYTES;
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (ext !== 'txt' && ext !== 'jsonl') {
    throw new DatasetError(
      `${name}: unsupported file type; use .txt (plain text) or .jsonl ({"prompt","completion"} or {"messages"} per line)`,
    );
  }
  if (!(bytes instanceof Uint8Array)) throw new DatasetError(`${name}: expected file bytes`);
  if (bytes.length === 0) throw new DatasetError(`${name} is empty`);
  if (bytes.length > maxBytes) {
    throw new DatasetError(`${name} is ${size(bytes.length)}; the limit is ${size(maxBytes)}`);
  }
  const warnings: string[] = [];
  const text = decodeText(name, bytes, warnings);
  if (text.trim().length === 0) throw new DatasetError(`${name} is empty (only whitespace)`);
  if (ext === 'txt') return { name, kind: 'text', text, bytes, warnings };
  const { examples, conversations } = parseJsonl(name, text);
  if (conversations.length > 0) return { name, kind: 'chat', conversations, bytes, warnings };
  return { name, kind: 'pairs', examples, bytes, warnings };
}

export interface PrepareUserOptions {
  /** Validation fraction in (0, 0.5] (default 0.1). */
  valFraction?: number;
  /** Attach the english forgetting probe (default true). */
  withProbe?: boolean;
  splitSeed?: number;
}

/**
 * Split an uploaded dataset into train / val with the fixed split seed, like the built-ins. The id is
 * `user:<file name>`; the hash is the SHA-256 of the uploaded bytes.
 */
export async function prepareUserDataset(ds: UserDataset, opts: PrepareUserOptions = {}): Promise<PreparedText> {
  const valFraction = opts.valFraction ?? 0.1;
  checkFraction('valFraction', valFraction);
  const splitSeed = opts.splitSeed ?? SPLIT_SEED;
  const id = `user:${ds.name}`;
  const hash = await sha256Hex(ds.bytes);
  const probe = (opts.withProbe ?? true) ? await loadForgettingProbe(splitSeed) : undefined;
  const extra = probe !== undefined ? { probe } : {};
  if (ds.kind === 'text') {
    const s = splitText(ds.text, { key: 'user', valFraction, splitSeed });
    return { id, hash, kind: 'text', train: s.train, val: s.val, ...extra };
  }
  const n = ds.kind === 'chat' ? ds.conversations.length : ds.examples.length;
  if (n < 2) throw new DatasetError(`${ds.name} needs at least 2 examples to hold one out for validation`);
  if (ds.kind === 'chat') {
    const s = splitUnits(ds.conversations, { key: 'user', valFraction, splitSeed });
    return { id, hash, kind: 'chat', train: s.train, val: s.val, ...extra };
  }
  const s = splitExamples(ds.examples, { key: 'user', valFraction, splitSeed });
  return { id, hash, kind: 'pairs', train: s.train, val: s.val, ...extra };
}
