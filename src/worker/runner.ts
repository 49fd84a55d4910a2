/**
 * WorkerRunner: drives one training run inside the worker and turns it into protocol events.
 * (Being written: the trainer lands in src/engine/train.ts.)
 */
import type { Gpu } from '../gpu/device';
import type { Command, EngineEvent } from './protocol';

export class WorkerRunner {
  constructor(
    readonly gpu: Gpu,
    readonly emit: (e: EngineEvent) => void,
  ) {}
  start(cmd: Extract<Command, { type: 'run' }>): void {
    this.emit({ type: 'error', runId: cmd.runId, error: { name: 'Error', kind: 'internal', message: 'training engine not wired yet' } });
  }
  pause(): void {}
  resume(): void {}
  stop(): void {}
  async generate(_cmd: Extract<Command, { type: 'generate' }>): Promise<void> {}
  async analyze(_cmd: Extract<Command, { type: 'analyze' }>): Promise<void> {}
}
