/**
 * Divergence that stays finite (issue 19 item 6): with lr 10 the loss climbs to ~7 000 without ever
 * becoming NaN, and the run used to finish "successfully" and save the diverged model. The monitor
 * watches the training loss: the run has diverged when, for `patience` consecutive steps, the loss is
 * above both `ratio` × its first value and its running minimum + `margin` nats. Both bounds are needed:
 * the first alone misses a run that first learned (start 5.5, min 0.5, now 9), the second alone
 * would flag noisy early steps. A pure function of the losses, so deterministic like the run.
 */

export interface DivergenceOptions {
  /** Loss above ratio × the first loss … */
  ratio: number;
  /** … and above the running minimum + margin (nats) … */
  margin: number;
  /** … for this many consecutive steps. */
  patience: number;
}

export const DEFAULT_DIVERGENCE: DivergenceOptions = { ratio: 2, margin: 5, patience: 3 };

export class DivergenceMonitor {
  private start = NaN;
  private min = Infinity;
  private minStep = 0;
  private streak = 0;
  constructor(private readonly o: DivergenceOptions = DEFAULT_DIVERGENCE) {}

  /** Feed one step's loss; returns the reason in words once the run has diverged, else null. */
  observe(step: number, loss: number): string | null {
    if (!Number.isFinite(loss)) return null; // non-finite losses are the NaN check's to report
    if (Number.isNaN(this.start)) this.start = loss;
    const high = loss > this.o.ratio * this.start && loss > this.min + this.o.margin;
    this.streak = high ? this.streak + 1 : 0;
    if (loss < this.min) {
      this.min = loss;
      this.minStep = step;
    }
    if (this.streak < this.o.patience) return null;
    return (
      `training diverged at step ${step}: the loss ${fmt(loss)} has stayed above ${this.o.ratio}× its start (${fmt(this.start)}) ` +
      `and its minimum ${fmt(this.min)} (step ${this.minStep}) + ${this.o.margin} for ${this.streak} steps`
    );
  }
}

const fmt = (x: number) => (Math.abs(x) >= 1000 ? x.toExponential(3) : x.toFixed(4));
