import type { Rule } from 'eslint';

/** Layer → the layers it may import (eslint-rules/layers.js). */
export const ALLOWED: Record<'gpu' | 'engine' | 'worker' | 'cli' | 'ui', string[]>;
/** The layer of an absolute path (the directory under the nearest src/), or null. */
export function layerOf(file: string): string | null;
declare const rule: Rule.RuleModule;
export default rule;
