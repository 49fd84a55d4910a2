/** Tiny argv parser shared by the CLI commands: `--flag`, `--key value`, `--key=value`, repeatable keys. */

export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
}

export function parseArgs(argv: string[], booleanFlags: string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  const push = (k: string, v: string) => {
    const list = flags.get(k) ?? [];
    list.push(v);
    flags.set(k, list);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) push(a.slice(2, eq), a.slice(eq + 1));
      else {
        const key = a.slice(2);
        if (booleanFlags.includes(key) || i + 1 >= argv.length || argv[i + 1].startsWith('--')) push(key, 'true');
        else push(key, argv[++i]);
      }
    } else positional.push(a);
  }
  return { positional, flags };
}

export function flag(p: ParsedArgs, key: string): string | undefined {
  const v = p.flags.get(key);
  return v ? v[v.length - 1] : undefined;
}

export function flagAll(p: ParsedArgs, key: string): string[] {
  return p.flags.get(key) ?? [];
}

export function has(p: ParsedArgs, key: string): boolean {
  return p.flags.has(key);
}

export function numberFlag(p: ParsedArgs, key: string, fallback: number): number {
  const v = flag(p, key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliError(`--${key} must be a number, got "${v}"`);
  return n;
}

/** Print one JSON object per line (the CLI's machine-readable contract). */
export function emit(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}
