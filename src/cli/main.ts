/**
 * Rankscope CLI: the engine headless in Node over Dawn. `npm run cli -- <command> [options]`.
 * Each command is one file in src/cli/commands/ exporting `run(argv): Promise<number>` (exit code)
 * and `help` (one line). Failures print one clear line on stderr and exit non-zero.
 */
import { CliError } from './args';
import { takeOverSignals } from './signals';

const commands = import.meta.glob('./commands/*.ts') as Record<string, () => Promise<CliCommand>>;

export interface CliCommand {
  help: string;
  run(argv: string[]): Promise<number>;
}

function commandName(path: string): string {
  return path.split('/').pop()!.replace(/\.ts$/, '');
}

async function usage(): Promise<string> {
  const lines = ['usage: npm run cli -- <command> [options]', '', 'commands:'];
  for (const [path, load] of Object.entries(commands).sort()) {
    const mod = await load();
    lines.push(`  ${commandName(path).padEnd(10)} ${mod.help}`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const entry = Object.entries(commands).find(([p]) => commandName(p) === name);
  if (!entry) {
    console.error(`rankscope: unknown command "${name}"\n${await usage()}`);
    return 2;
  }
  const mod = await entry[1]();
  return mod.run(rest);
}

// vite-node passes the script's own args after "--". Top-level await: vite-node closes its module
// server once this module finishes evaluating, so lazy command imports must happen before that.
const argv = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
takeOverSignals(); // Ctrl-C / SIGTERM end every command within a second (signals.ts)
let code: number;
try {
  code = await main(argv);
} catch (e: unknown) {
  const msg = e instanceof CliError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  console.error(`rankscope: ${msg}`);
  if (process.env.RANKSCOPE_DEBUG && e instanceof Error) console.error(e.stack);
  code = 1;
}
// Dawn keeps the process alive while GPU objects are referenced: exit explicitly.
process.exit(code);
