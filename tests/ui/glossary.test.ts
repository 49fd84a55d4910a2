/** The glossary covers the terms on screen, each with a one-line definition and its paper. */
import { describe, expect, it } from 'vitest';
import { GLOSSARY, glossaryTitle } from '../../src/ui/glossary';

describe('glossary', () => {
  it('has effective rank, stable rank, α, intruder dimension, ε, forgetting probe and ΔW', () => {
    expect(Object.values(GLOSSARY).map((g) => g.term)).toEqual([
      'effective rank',
      'stable rank',
      'power-law α',
      'intruder dimension',
      'ε',
      'forgetting probe',
      'ΔW',
    ]);
  });
  it('every entry: one line, a paper with a year, an https link; the hover text joins them', () => {
    for (const [k, g] of Object.entries(GLOSSARY)) {
      expect(g.definition, k).not.toMatch(/\n/);
      expect(g.definition.length, k).toBeLessThan(120);
      expect(g.paper, k).toMatch(/(19|20)\d\d/);
      expect(g.url, k).toMatch(/^https:\/\//);
      expect(glossaryTitle(k as keyof typeof GLOSSARY)).toBe(`${g.term}: ${g.definition}. — ${g.paper}`);
    }
  });
});
