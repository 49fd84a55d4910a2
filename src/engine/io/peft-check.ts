/**
 * A PEFT adapter against the model it will be applied to (issue 18: `import --peft` accepted an
 * adapter for layer h.999 on a 2-layer model). importPeft (peft.ts) checks the files on their own —
 * names, ranks, finite values; this checks each module exists in the model and its factors' shapes
 * fit the linear's width (for HRA's hra_u [in, r]: its input width). One line per problem.
 */
import type { ModelConfig } from '../model/config';
import { linearShapes, splitLinearName } from '../memory-plan';
import { escapeControl } from '../strings';
import type { PeftImport } from './peft';
import type { PeftHraImport } from './peft-hra';

/** LoRA factors (lora_A [r, in], lora_B [out, r]) or HRA reflections (hra_u [in, r]: only the input width). */
export function checkPeftAgainstModel(im: PeftImport | PeftHraImport, cfg: ModelConfig): string[] {
  const linears = new Map(linearShapes(cfg).map((l) => [l.name, l]));
  const types = [...new Set([...linears.keys()].map((n) => splitLinearName(n)!.type))];
  const problems: string[] = [];
  for (const m of im.modules) {
    const name = escapeControl(m.module);
    const lin = linears.get(m.module);
    if (!lin) {
      const s = splitLinearName(m.module);
      problems.push(
        s && s.layer >= cfg.nLayer
          ? `${name}: the model has layers 0…${cfg.nLayer - 1}, not ${s.layer}`
          : `${name}: the model has no such module (its modules: ${types.join(', ')})`,
      );
      continue;
    }
    if ('U' in m) {
      if (m.inDim !== lin.inDim)
        problems.push(`${name}: hra_u is [${m.inDim}, ${m.r}] but the model's linear takes ${lin.inDim} inputs`);
      continue;
    }
    if (m.inDim !== lin.inDim)
      problems.push(`${name}: lora_A is [${m.r}, ${m.inDim}] but the model's linear takes ${lin.inDim} inputs`);
    if (m.outDim !== lin.outDim)
      problems.push(`${name}: lora_B is [${m.outDim}, ${m.r}] but the model's linear has ${lin.outDim} outputs`);
  }
  return problems;
}
