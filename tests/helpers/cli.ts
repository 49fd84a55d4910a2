/**
 * Run the CLI as a person does (`npm run cli -- …` without npm's banner): a child process of
 * vite-node on src/cli/main.ts from the repo root, stdout split into JSON lines.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
const VITE_NODE = path.join(ROOT, 'node_modules', '.bin', 'vite-node');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout lines parsed as JSON; with `strictJson`, a non-JSON line rejects, else it becomes {text}. */
  lines: Record<string, unknown>[];
}

export function runCli(
  args: string[],
  opts: { strictJson?: boolean; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(VITE_NODE, ['--script', 'src/cli/main.ts', '--', ...args], {
      cwd: ROOT,
      env: { ...process.env, RANKSCOPE_DEBUG: '', ...opts.env },
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines: Record<string, unknown>[] = [];
      for (const l of stdout.split('\n')) {
        const t = l.trim();
        if (!t) continue;
        try {
          lines.push(JSON.parse(t) as Record<string, unknown>);
        } catch {
          if (opts.strictJson) {
            reject(new Error(`stdout line is not JSON: ${t}\nstderr: ${stderr}`));
            return;
          }
          lines.push({ text: t });
        }
      }
      resolve({ code, stdout, stderr, lines });
    });
  });
}

/** stderr without Dawn's adapter-limit warnings (printed by the driver, not by us). */
export function ourErrors(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() && !/^Warning: max\w+ artificially reduced/.test(l));
}
