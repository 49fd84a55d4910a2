/** Tiny argv parser shared by the CLI commands: `--flag`, `--key value`, `--key=value`, repeatable keys. */
import { didYouMean, escapeControl } from '../engine/strings';

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

/**
 * What a command accepts. Every command declares its flags here, in its own parseArgs call, so that a
 * typo is refused ("unknown flag --stpes; did you mean --steps?") instead of silently ignored (issue 18).
 * `booleans` take no value (`--json`); `values` take one (`--steps 5`, `--steps=5`).
 */
export interface FlagSpec {
  /** The command's name as typed (`train`, `bench step`), for the message. */
  command: string;
  booleans?: readonly string[];
  values?: readonly string[];
  /** Where the spec lives, named in the message so a developer knows where to declare a new flag. */
  declaredIn?: string;
}

export function parseArgs(argv: string[], spec: FlagSpec | string[] = []): ParsedArgs {
  const booleanFlags = Array.isArray(spec) ? spec : (spec.booleans ?? []);
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
  if (!Array.isArray(spec)) checkFlags(flags, spec);
  return { positional, flags };
}

/** Refuse flags the command does not declare, naming the closest declared one. */
function checkFlags(flags: Map<string, string[]>, spec: FlagSpec): void {
  const known = [...(spec.booleans ?? []), ...(spec.values ?? [])];
  for (const [key, vals] of flags) {
    if (known.includes(key)) {
      if (spec.booleans?.includes(key) && vals.some((v) => v !== 'true' && v !== 'false'))
        throw new CliError(`--${key} takes no value (got "--${key}=${escapeControl(vals.at(-1) ?? '')}")`);
      continue;
    }
    const shown = escapeControl(key);
    const hint = didYouMean(key, known, '--');
    const where = spec.declaredIn ?? `src/cli/commands/${spec.command.split(' ')[0]}.ts`;
    throw new CliError(
      `unknown flag --${shown} for ${spec.command}${hint || ` (it accepts ${known.map((k) => '--' + k).join(', ') || 'no flags'})`}` +
        ` [a new flag is declared in the parseArgs call of ${where}]`,
    );
  }
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
  const n = v.trim() === '' ? NaN : Number(v); // Number('') is 0: "--steps=" must not mean zero
  if (!Number.isFinite(n)) throw new CliError(`--${key} must be a number, got "${escapeControl(v)}"`);
  return n;
}

/** Print one JSON object per line (the CLI's machine-readable contract). */
export function emit(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}
