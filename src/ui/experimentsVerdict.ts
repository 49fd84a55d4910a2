/**
 * The custom sweep's verdict rule (ExperimentsBuilder): clauses of every rule kind the engine judges
 * (verdict.ts: compare, within, ratio, trend, threshold, speedup), each drafted from form fields — a
 * metric, groups picked from the sweep's own groups, numbers typed as text — and turned into the
 * engine's clause through its schema (ClauseSchema), so what the page accepts is what `judge()` and the
 * CLI read. A field that does not parse, or a clause the schema refuses, is one line in plain words
 * naming the clause.
 */
import { ClauseSchema, VERDICT_RULES, type Clause, type VerdictRuleId } from '../engine/experiments/schema';
import { issuesOneLine } from '../engine/strings';

export { VERDICT_RULES };
export type { VerdictRuleId };

export type Op = '<' | '>' | '<=' | '>=';

export interface ClauseDraft {
  rule: VerdictRuleId;
  metric: string;
  /** compare / within / ratio / speedup. */
  a: string;
  b: string;
  /** trend (in order) / threshold. */
  groups: string[];
  /** compare / threshold. */
  op: Op;
  /** compare: the relative margin a must win by; within: the tolerance; trend: the slack. Text as typed. */
  margin: string;
  /** ratio: the largest a/b allowed; speedup: the least speedup; threshold: the value. Text as typed. */
  bound: string;
  /** ratio: bound is a maximum or a minimum. */
  boundKind: 'max' | 'min';
  direction: 'up' | 'down';
}

/** What each rule checks, in words (the form's hint). */
export const RULE_HELP: Record<VerdictRuleId, string> = {
  compare: 'group A’s mean beats group B’s (optionally by a relative margin)',
  within: 'group A’s mean is within a relative tolerance of group B’s',
  ratio: 'A’s mean divided by B’s stays under (or over) a bound',
  trend: 'the mean rises or falls along the groups in order',
  threshold: 'each chosen group’s mean compares with a fixed value',
  speedup: 'A reaches B’s final training loss at least this many times faster (steps)',
};

/** The metrics a custom sweep measures (with intruders when a clause reads them). */
export const RULE_METRICS = [
  'valLoss',
  'probeLoss',
  'probeDelta',
  'finalLoss',
  'meanLoss',
  'step0ValLoss',
  'intruders',
  'trainableParams',
  'optimizerBytes',
  'wallSeconds',
];

/** A new clause of `rule` over the sweep's groups, with defaults that judge something sensible. */
export function newDraft(rule: VerdictRuleId, groups: string[]): ClauseDraft {
  const a = groups[0] ?? '';
  const b = groups.find((g) => g !== a) ?? a;
  const base: ClauseDraft = {
    rule,
    metric: 'valLoss',
    a,
    b,
    groups: groups.slice(),
    op: '<',
    margin: rule === 'within' ? '0.05' : '0',
    bound: rule === 'ratio' ? '1' : rule === 'speedup' ? '1.5' : '3',
    boundKind: 'max',
    direction: 'down',
  };
  if (rule === 'speedup') base.metric = 'finalLoss';
  if (rule === 'threshold') base.op = '<=';
  return base;
}

/** Keep a draft's groups to the sweep's groups (the axes changed): unknown ones fall back to the defaults. */
export function fitDraft(d: ClauseDraft, groups: string[]): ClauseDraft {
  const def = newDraft(d.rule, groups);
  const kept = d.groups.filter((g) => groups.includes(g));
  return {
    ...d,
    a: groups.includes(d.a) ? d.a : def.a,
    b: groups.includes(d.b) ? d.b : def.b,
    groups: kept.length ? kept : def.groups,
  };
}

function num(text: string, what: string): number {
  const t = text.trim();
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v)) throw new Error(`${what} must be a number (got "${t}")`);
  return v;
}

/** The engine clause of a draft, or the reason in plain words (the schema's, for what it refuses). */
export function clauseOf(d: ClauseDraft): Clause {
  const c: Record<string, unknown> = { rule: d.rule, metric: d.metric };
  switch (d.rule) {
    case 'compare':
      Object.assign(c, { a: d.a, b: d.b, op: d.op });
      if (d.margin.trim() && num(d.margin, 'the margin') > 0) c.margin = num(d.margin, 'the margin');
      break;
    case 'within':
      Object.assign(c, { a: d.a, b: d.b, margin: num(d.margin, 'the tolerance') });
      break;
    case 'ratio':
      Object.assign(c, { a: d.a, b: d.b, [d.boundKind]: num(d.bound, 'the bound') });
      break;
    case 'trend':
      Object.assign(c, { groups: d.groups, direction: d.direction });
      if (d.margin.trim() && num(d.margin, 'the slack') > 0) c.margin = num(d.margin, 'the slack');
      break;
    case 'threshold':
      Object.assign(c, { groups: d.groups, op: d.op, value: num(d.bound, 'the value') });
      break;
    case 'speedup':
      Object.assign(c, { a: d.a, b: d.b, min: num(d.bound, 'the speedup') });
      break;
  }
  const r = ClauseSchema.safeParse(c);
  if (!r.success) throw new Error(issuesOneLine(r.error.issues));
  return r.data;
}

/** Every draft as the engine's verdict, or the first problem as "Clause 2 (within): …". */
export function verdictOfDrafts(drafts: ClauseDraft[]): { all: Clause[] } | { error: string } {
  const all: Clause[] = [];
  for (const [i, d] of drafts.entries()) {
    try {
      all.push(clauseOf(d));
    } catch (e) {
      return { error: `Clause ${i + 1} (${d.rule}): ${(e as Error).message}` };
    }
  }
  return { all };
}

/** Does any clause read an intruder count (the sweep then measures intruders)? */
export function readsIntruders(clauses: Clause[]): boolean {
  return clauses.some((c) => /^intruders/.test(c.metric) || /^intruders/.test(c.metricB ?? ''));
}
