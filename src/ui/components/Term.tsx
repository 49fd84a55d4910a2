/** A term with its glossary definition on hover and keyboard focus (src/ui/glossary.ts). */
import type { ReactNode } from 'react';
import { GLOSSARY, glossaryTitle, type GlossaryKey } from '../glossary';

export function Term({ k, children }: { k: GlossaryKey; children?: ReactNode }) {
  return (
    <abbr className="term" title={glossaryTitle(k)} tabIndex={0} data-testid={`term-${k}`}>
      {children ?? GLOSSARY[k].term}
    </abbr>
  );
}
