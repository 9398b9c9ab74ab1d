/**
 * A pool of inference worker processes, restarted when one exits the way an orchestrator would:
 * the soak's and the churn benchmark's. Worker `i` keeps its settings (and so its WORKER_ID, its
 * static group.instance.id) across restarts, as a StatefulSet's pod keeps its name.
 */
import type { ChildProcess } from 'node:child_process';
import { processExited, spawnNodeProcess, stopProcess, type Infra } from '@loomwatch/testkit';

export interface WorkerPoolOptions {
  infra: Infra;
  /** The environment of worker `index` (0-based), the same at every start. */
  settings: (index: number) => Record<string, string | number | undefined>;
  /** Where worker `index`'s stdout and stderr go (appended across restarts). */
  logFile: (index: number) => string;
  /** How long after a worker exits on its own (or is SIGKILLed) it is started again. @defaultValue 1000 */
  restartDelayMs?: number;
}

/** What the pool does when a worker exits: start it again after the delay, at once, or not. */
type Plan = 'respawn' | 'restart-now' | 'retire';

interface Slot {
  child: ChildProcess;
  plan: Plan;
  /** Set for an exit the pool asked for (a graceful restart or retirement), so it is not counted as unexpected. */
  expected: boolean;
}

export class WorkerPool {
  private readonly slots = new Map<number, Slot>();
  private stopping = false;
  /** SIGKILLs sent. */
  kills = 0;
  /** Exits nobody asked for: neither a SIGKILL nor a graceful stop of the pool's. */
  unexpectedExits = 0;

  constructor(private readonly options: WorkerPoolOptions) {}

  /**
   * Starts workers 0 … count-1. A SIGINT or SIGTERM to this process takes the workers with it: they
   * run in its process group, but a signal sent to its pid alone (`kill`, `pkill -f soak`) would
   * leave them deciding frames, and competing for the CPU with whatever runs next.
   */
  start(count: number): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        this.stopping = true;
        for (const slot of this.slots.values()) slot.child.kill('SIGKILL');
        process.kill(process.pid, signal);
      });
    }
    for (let i = 0; i < count; i++) this.spawn(i);
  }

  /** The indices of the workers the pool keeps running. */
  get indices(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }

  /** Starts one more worker, the next index (a scale-up; a StatefulSet's next ordinal). */
  add(): number {
    const index = Math.max(-1, ...this.slots.keys()) + 1;
    this.spawn(index);
    return index;
  }

  /** SIGKILLs worker `index` (no goodbye); the pool starts it again after the restart delay. False when it is not running. */
  kill(index: number): boolean {
    const slot = this.slots.get(index);
    if (slot === undefined || !alive(slot.child)) return false;
    this.kills++;
    slot.plan = 'respawn';
    return slot.child.kill('SIGKILL');
  }

  /** Stops worker `index` with `signal`, waits for its drain, and starts it again at once (a rolling restart's step). */
  async restart(index: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const slot = this.slots.get(index);
    if (slot === undefined || !alive(slot.child)) return;
    slot.plan = 'restart-now';
    slot.expected = true;
    slot.child.kill(signal);
    await processExited(slot.child);
  }

  /** Stops worker `index` for good with `signal` (a scale-down) and waits for its drain. */
  async retire(index: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const slot = this.slots.get(index);
    if (slot === undefined) return;
    slot.plan = 'retire';
    slot.expected = true;
    this.slots.delete(index);
    if (!alive(slot.child)) return;
    slot.child.kill(signal);
    await processExited(slot.child);
  }

  /** Stops every worker gracefully (SIGTERM) and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.slots.values()].map((slot) => stopProcess(slot.child)));
  }

  private spawn(index: number): void {
    const child = spawnNodeProcess({ entry: 'services/inference-worker/dist/main.js', infra: this.options.infra, settings: this.options.settings(index), logFile: this.options.logFile(index) });
    const slot: Slot = { child, plan: 'respawn', expected: false };
    this.slots.set(index, slot);
    child.once('exit', (_code, signal) => {
      if (this.stopping || slot.plan === 'retire' || this.slots.get(index) !== slot) return;
      if (signal !== 'SIGKILL' && !slot.expected) this.unexpectedExits++;
      if (slot.plan === 'restart-now') this.spawn(index);
      else setTimeout(() => !this.stopping && this.slots.get(index) === slot && this.spawn(index), this.options.restartDelayMs ?? 1000);
    });
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
