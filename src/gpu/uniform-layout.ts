/**
 * The uniform block a kernel's host writes must match, word for word, the `struct` its WGSL entry point
 * reads at binding 0: a host that packs `N, C, eps` against a shader that declares `C, N, eps` computes
 * garbage without any error. This module parses the shader's uniform structs so that test runs can check
 * every dispatch (`setUniformLayoutCheck(true)` in tests/setup.ts): the host's word kinds (u32 / i32 / f32,
 * recorded by `Params`) must equal the struct's fields in order and in number.
 *
 * Only scalar u32/i32/f32 fields and vecN of them are understood — the only kinds `Params` can write.
 */

export type WordKind = 'u' | 'i' | 'f';

const SCALAR: Record<string, WordKind> = { u32: 'u', i32: 'i', f32: 'f' };

/** Word kinds of a WGSL field type, or null if `Params` cannot write it. */
function fieldKinds(type: string): WordKind[] | null {
  const t = type.replace(/\s+/g, '');
  if (SCALAR[t]) return [SCALAR[t]];
  const vec = /^vec([234])<(u32|i32|f32)>$/.exec(t) ?? /^vec([234])([uif])$/.exec(t);
  if (vec) {
    const k = (vec[2].length === 1 ? vec[2] : SCALAR[vec[2]][0]) as WordKind;
    return Array(Number(vec[1])).fill(k);
  }
  return null;
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

/** Every `struct` in the source, by name, as word kinds (null when a field is not host-writable). */
export function wgslStructs(source: string): Map<string, WordKind[] | null> {
  const out = new Map<string, WordKind[] | null>();
  const src = stripComments(source);
  for (const m of src.matchAll(/struct\s+(\w+)\s*\{([^}]*)\}/g)) {
    let kinds: WordKind[] | null = [];
    for (const field of m[2].split(',')) {
      const f = field.trim();
      if (!f) continue;
      const type = f.slice(f.indexOf(':') + 1).replace(/@\w+(\([^)]*\))?/g, '');
      const k = fieldKinds(type);
      if (!k) {
        kinds = null;
        break;
      }
      kinds.push(...k);
    }
    out.set(m[1], kinds);
  }
  return out;
}

/** Uniform variables (name → struct type) and, per entry point, which of them its body names. */
export function wgslUniforms(source: string): { vars: Map<string, string>; entryUses: Map<string, string[]> } {
  const src = stripComments(source);
  const vars = new Map<string, string>();
  for (const m of src.matchAll(/var\s*<\s*uniform\s*>\s*(\w+)\s*:\s*(\w+)/g)) vars.set(m[1], m[2]);
  const entryUses = new Map<string, string[]>();
  const fns = [...src.matchAll(/(@compute[^f]*)?\bfn\s+(\w+)\s*\(/g)];
  fns.forEach((m, i) => {
    if (!m[1]) return;
    const body = src.slice(m.index, i + 1 < fns.length ? fns[i + 1].index : src.length);
    entryUses.set(
      m[2],
      [...vars.keys()].filter((v) => new RegExp(`\\b${v}\\.`).test(body)),
    );
  });
  return { vars, entryUses };
}

/**
 * Null when the host's words fit the uniform struct the entry point reads; otherwise a one-line message
 * naming the shader, the entry, the struct and both layouts.
 */
export function checkUniformLayout(source: string, shader: string, entry: string, host: WordKind[]): string | null {
  const structs = wgslStructs(source);
  const { vars, entryUses } = wgslUniforms(source);
  const used = entryUses.get(entry);
  const candidates = (used?.length === 1 ? used : [...vars.keys()]).map((v) => vars.get(v)!);
  if (!candidates.length) return `${shader}:${entry}: the host passes a uniform block but the shader declares none`;
  const hostText = host.join('');
  for (const name of candidates) {
    const kinds = structs.get(name);
    if (kinds === null) return null; // a struct Params cannot describe: not checkable, not wrong
    if (kinds && kinds.join('') === hostText) return null;
  }
  const want = candidates.map((n) => `${n}=${structs.get(n)?.join('') ?? '?'}`).join(' or ');
  return `${shader}:${entry}: host uniform words "${hostText}" do not match the shader's ${want} (u=u32, i=i32, f=f32)`;
}
