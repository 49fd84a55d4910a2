/**
 * How much memory a CLI run may plan for (src/engine/memory-plan.ts). WebGPU does not report device
 * memory, so: RANKSCOPE_MEMORY_BUDGET (bytes, or with a K/M/G suffix) when set, else three quarters
 * of this machine's RAM (right for the CPU driver, conservative enough to catch absurd sizes anywhere).
 */
import os from 'node:os';
import { CliError } from './args';

export function cliMemoryBudget(env: string | undefined = process.env.RANKSCOPE_MEMORY_BUDGET): number {
  if (env === undefined || env === '') return Math.floor(0.75 * os.totalmem());
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]i?B?)?$/i.exec(env.trim());
  if (!m) throw new CliError(`RANKSCOPE_MEMORY_BUDGET must be bytes or a size such as 8G, got "${env}"`);
  const unit = (m[2] ?? '').toUpperCase()[0];
  const mult = unit === 'K' ? 2 ** 10 : unit === 'M' ? 2 ** 20 : unit === 'G' ? 2 ** 30 : 1;
  return Math.floor(Number(m[1]) * mult);
}
