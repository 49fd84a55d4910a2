/**
 * Small string helpers for messages: the closest known name to a typo ("did you mean --steps?") and
 * control-character escaping for anything printed that came from a file (tensor names, config keys):
 * a name holding ESC [ 2 J must not clear the person's terminal (issue 19 item 10).
 */

/** Levenshtein distance with an early exit once every cell of a row exceeds `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The known name closest to `name`, or null when none is plausibly meant: at most a third of the
 * name's letters (minimum 2) differ, or one is a prefix of the other (--lr for --lr-min).
 */
export function closestName(name: string, known: Iterable<string>): string | null {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase(), limit);
    if (d < bestD || (d === bestD && best !== null && k < best)) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= limit ? best : null;
}

/** " (did you mean X?)" or "", for the end of a message. */
export function didYouMean(name: string, known: Iterable<string>, prefix = ''): string {
  const c = closestName(name, known);
  return c === null ? '' : `; did you mean ${prefix}${c}?`;
}

/**
 * Escape C0/C1 control characters (ESC, BEL, CR, backspace …) and Unicode bidi overrides as \xNN /
 * \uNNNN so text from a file prints as inert characters. Tabs and newlines are escaped too: a name
 * must stay on its line.
 */
export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Keys that reach Object.prototype or a constructor when used as a property name (issue 19 item 9). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Throw `make(message)` when any key of `value` at any depth is forbidden; `where` names the source. */
export function assertSafeKeys(value: unknown, where: string, make: (m: string) => Error = (m) => new Error(m)): void {
  const walk = (v: unknown, path: string, depth: number): void => {
    if (depth > 64) throw make(`${where}: nested more than 64 levels deep at ${path || '(root)'}`);
    if (v === null || typeof v !== 'object') return;
    for (const k of Object.keys(v)) {
      const p = path ? `${path}.${k}` : k;
      if (FORBIDDEN_KEYS.has(k))
        throw make(`${where}: key "${escapeControl(p)}" is not allowed (${k} reaches object internals)`);
      walk((v as Record<string, unknown>)[k], p, depth + 1);
    }
  };
  walk(value, '', 0);
}

/** The shape of a zod issue that matters for a message (kept structural: this module imports nothing). */
export interface SchemaIssue {
  path: readonly PropertyKey[];
  message: string;
  code?: string;
  keys?: readonly string[];
}

/**
 * A zod message in plain words (issue 16: no raw library text on screen): "Too small: expected number
 * to be >0" → "must be greater than 0", "Invalid option: expected one of \"a\"|\"b\"" → "choose one of
 * a, b". Messages that are already ours pass through unchanged.
 */
export function plainSchemaMessage(msg: string): string {
  const bound: Record<string, string> = { '>=': 'at least', '>': 'greater than', '<=': 'at most', '<': 'less than' };
  let m = /^Too (?:small|big): expected (?:number|int|bigint) to be (>=|>|<=|<)\s*(\S+)$/.exec(msg);
  if (m) return `must be ${bound[m[1]]} ${m[2]}`;
  m = /^Too (?:small|big): expected string to have (>=|>|<=|<)\s*(\d+) characters?$/.exec(msg);
  if (m) return m[1] === '>=' && m[2] === '1' ? 'must not be empty' : `must have ${bound[m[1]]} ${m[2]} characters`;
  m = /^Too (?:small|big): expected array to have (>=|>|<=|<)\s*(\d+) items?$/.exec(msg);
  if (m) return m[1] === '>=' && m[2] === '1' ? 'choose at least one' : `needs ${bound[m[1]]} ${m[2]} entries`;
  m = /^Invalid input: expected (number|int), received (\w+)$/.exec(msg);
  if (m) {
    if (m[1] === 'int' && m[2] === 'number') return 'must be a whole number';
    return m[2] === 'NaN' || m[2] === 'undefined' ? 'enter a number' : `must be a number, not ${article(m[2])}`;
  }
  m = /^Invalid input: expected (\w+), received (\w+)$/.exec(msg);
  if (m) return m[2] === 'undefined' ? 'is missing' : `must be ${article(m[1])}, not ${article(m[2])}`;
  m = /^Invalid option: expected one of (.+)$/.exec(msg);
  if (m)
    return `choose one of ${m[1]
      .split('|')
      .map((x) => x.replace(/^"|"$/g, ''))
      .join(', ')}`;
  m = /^Unrecognized keys?: (.+)$/.exec(msg);
  if (m) return `unknown setting${m[1].includes(',') ? 's' : ''} ${m[1]}`;
  m = /^Invalid (?:string|input): must match pattern .*$/.exec(msg);
  if (m) return 'has characters that are not allowed here';
  if (msg === 'Invalid input') return 'is not a valid value';
  return msg;
}

function article(type: string): string {
  const words: Record<string, string> = {
    string: 'text',
    number: 'a number',
    int: 'a whole number',
    boolean: 'yes/no',
    object: 'a group of settings',
    array: 'a list',
    null: 'empty',
  };
  return words[type] ?? type;
}

/**
 * Schema issues as ONE line naming each field: "Too small: expected number to be >0 (at train.lr); … (at seed)"
 * (issue 19 item 8: no 8–13 line dumps). At most `max` issues are listed, then "(+N more)".
 */
export function issuesOneLine(issues: readonly SchemaIssue[], max = 4): string {
  const parts = issues.slice(0, max).map((i) => {
    const path = i.path.map((p) => escapeControl(String(p))).join('.');
    const msg = escapeControl(plainSchemaMessage(i.message.replace(/\s*\n\s*/g, ' ')));
    return path ? `${msg} (at ${path})` : msg;
  });
  if (issues.length > max) parts.push(`(+${issues.length - max} more)`);
  return parts.join('; ');
}

/**
 * Why a regular expression from a file could backtrack catastrophically, or null. JavaScript's
 * RegExp backtracks, so a tokenizer.json pre-tokenizer such as `(a+)+$` takes exponential time on
 * "aaaa…b" (issue 19 item 2: 120 s on 31 characters). The rule is the classic star-height test
 * (as in the safe-regex package): refuse a quantified group whose body itself holds a quantifier
 * or an alternation — `(a+)+`, `(a*)*`, `(a|a)*`, `(?:\s+\w*){2,}` — and patterns over 2000 characters.
 * Character classes and escapes are skipped; top-level alternations (GPT-2's and Llama 3's split
 * patterns) are fine.
 */
export function regexHazard(src: string): string | null {
  if (src.length > 2000) return `the pattern is ${src.length} characters long (at most 2000)`;
  // per open group: does its body hold a quantifier or an alternation?
  const stack: { risky: boolean; start: number }[] = [];
  const quantAt = (j: number): boolean => {
    const c = src[j];
    if (c === '*' || c === '+') return true;
    if (c === '{') return /^\{\d+(,\d*)?\}/.test(src.slice(j)) && !/^\{(\d+)(,\1)?\}/.test(src.slice(j)); // {n} is not a repeat
    return false;
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      i++;
      if (i + 1 < src.length && quantAt(i + 1) && stack.length) stack[stack.length - 1].risky = true;
      continue;
    }
    if (c === '[') {
      // skip the class (a ']' right after '[' or '[^' is literal)
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      for (; j < src.length && src[j] !== ']'; j++) if (src[j] === '\\') j++;
      i = j;
      if (quantAt(i + 1) && stack.length) stack[stack.length - 1].risky = true;
      continue;
    }
    if (c === '(') {
      stack.push({ risky: false, start: i });
      continue;
    }
    if (c === ')') {
      const g = stack.pop();
      if (!g) continue;
      if (quantAt(i + 1) && g.risky)
        return `nested quantifier at character ${g.start}: "${escapeControl(src.slice(g.start, Math.min(src.length, i + 4)))}" can backtrack exponentially`;
      if (stack.length && (g.risky || quantAt(i + 1))) stack[stack.length - 1].risky = true;
      continue;
    }
    if (c === '|' && stack.length) stack[stack.length - 1].risky = true;
    else if ((c === '*' || c === '+' || (c === '{' && quantAt(i))) && stack.length)
      stack[stack.length - 1].risky = true;
  }
  return null;
}
