import { LoomwatchError, deploymentVersions, type Deployment, type FrameEvent, type Precision } from '@loomwatch/contracts';
import type { Decider } from '@loomwatch/inference';
import { routeFrame, type Route } from './routing.js';

/** Loads one version of the model, at the deployment's precision (undefined: the loader's own default). */
type DeciderLoader = (version: string, precision: Precision | undefined) => Promise<Decider>;

/** The deciders chosen for one frame; `release` once the frame is decided (or failed). */
interface Lease {
  route: Route;
  primary: Decider;
  shadow?: Decider;
  release(): void;
}

/** What the frame handler needs: a decider (and maybe a shadow) for each frame. */
export interface FrameRouter {
  acquire(frame: FrameEvent): Lease;
}

interface Loaded {
  version: string;
  precision: Precision | undefined;
  /** Replaced when the version is reloaded after its runtime died. */
  decider: Decider;
  leases: number;
  retired: boolean;
}

/** A loaded version is kept per precision: a deployment that changes only its precision loads every version again. */
function slot(version: string, precision: Precision | undefined): string {
  return `${version} ${precision ?? 'default'}`;
}

/**
 * The loaded versions of one model and the deployment in force. A new deployment's versions are
 * all loaded before it takes effect, so a switch never makes a frame wait for a load and a
 * version that fails to load leaves the old deployment running. Frames keep the decider they were
 * given; a version no longer deployed is closed when its last frame releases it.
 */
export class ModelPool implements FrameRouter {
  private readonly loaded = new Map<string, Loaded>();
  private switching: Promise<unknown> = Promise.resolve();
  private readonly reloading = new Set<string>();
  private closed = false;

  private constructor(
    private readonly load: DeciderLoader,
    private current: Deployment,
  ) {}

  static async start(load: DeciderLoader, deployment: Deployment): Promise<ModelPool> {
    const pool = new ModelPool(load, deployment);
    await pool.loadAll(deployment);
    return pool;
  }

  get deployment(): Deployment {
    return this.current;
  }

  /** The versions loaded now, retiring ones included. */
  get versions(): string[] {
    return [...this.loaded.values()].map((entry) => entry.version);
  }

  /** The decider of `version` at the precision in force. */
  decider(version: string): Decider | undefined {
    return this.loaded.get(slot(version, this.current.precision))?.decider;
  }

  /** Every loaded version can decide (none closed or with a dead runtime). */
  get healthy(): boolean {
    return [...this.loaded.values()].every((entry) => entry.decider.usable);
  }

  /**
   * Switches to `next` once its versions are loaded. Returns false (and changes nothing) for a
   * revision not newer than the one in force or another model's deployment.
   */
  apply(next: Deployment): Promise<boolean> {
    const result = this.switching.then(() => this.switchTo(next));
    this.switching = result.catch(() => undefined);
    return result;
  }

  private async switchTo(next: Deployment): Promise<boolean> {
    if (next.model !== this.current.model || next.revision <= this.current.revision || this.closed) return false;
    await this.loadAll(next);
    this.current = next;
    const keep = new Set(deploymentVersions(next).map((version) => slot(version, next.precision)));
    for (const [key, entry] of this.loaded) {
      entry.retired = !keep.has(key);
      if (entry.retired && entry.leases === 0) await this.unload(key);
    }
    return true;
  }

  acquire(frame: FrameEvent): Lease {
    const route = routeFrame(this.current, frame);
    const primary = this.take(route.version);
    if (primary === undefined) {
      throw new LoomwatchError('MODEL_RUN_FAILED', `${this.current.model}@${route.version} stopped working (its runtime died) and is being reloaded: the frame is retried`, {
        retryable: true,
      });
    }
    const shadow = route.shadow === undefined ? undefined : this.take(route.shadow); // a shadow being reloaded is skipped
    let released = false;
    return {
      route,
      primary: primary.decider,
      ...(shadow === undefined ? {} : { shadow: shadow.decider }),
      release: () => {
        if (released) return;
        released = true;
        for (const entry of shadow === undefined ? [primary] : [primary, shadow]) {
          entry.leases -= 1;
          if (entry.retired && entry.leases === 0) void this.unload(slot(entry.version, entry.precision));
        }
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.loaded.keys()].map((key) => this.unload(key)));
  }

  /** A lease on a loaded version; undefined (and a reload started) when its decider no longer works. */
  private take(version: string): Loaded | undefined {
    const entry = this.loaded.get(slot(version, this.current.precision));
    if (entry === undefined) throw new Error(`model version ${version} is routed to but not loaded`); // loadAll guarantees it
    if (!entry.decider.usable) {
      this.reload(entry);
      return undefined;
    }
    entry.leases += 1;
    return entry;
  }

  /** Loads the version again; frames retried meanwhile fail fast with a retryable error. */
  private reload(entry: Loaded): void {
    const key = slot(entry.version, entry.precision);
    if (this.reloading.has(key) || this.closed) return;
    this.reloading.add(key);
    void this.load(entry.version, entry.precision)
      .then(async (fresh) => {
        const dead = entry.decider;
        entry.decider = fresh;
        if (this.loaded.get(key) !== entry || this.closed) await fresh.close(); // unloaded meanwhile
        await dead.close().catch(() => undefined);
      })
      .catch(() => undefined) // the next frame routed to it tries again
      .finally(() => this.reloading.delete(key));
  }

  private async loadAll(deployment: Deployment): Promise<void> {
    const { precision } = deployment;
    const missing = deploymentVersions(deployment).filter((version) => !this.loaded.has(slot(version, precision)));
    const deciders = await Promise.allSettled(missing.map((version) => this.load(version, precision)));
    const failed = deciders.find((d): d is PromiseRejectedResult => d.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(deciders.flatMap((d) => (d.status === 'fulfilled' ? [d.value.close()] : [])));
      throw failed.reason;
    }
    deciders.forEach((d, i) => {
      const version = missing[i];
      if (d.status === 'fulfilled' && version !== undefined) this.loaded.set(slot(version, precision), { version, precision, decider: d.value, leases: 0, retired: false });
    });
    for (const version of deploymentVersions(deployment)) {
      const entry = this.loaded.get(slot(version, precision));
      if (entry !== undefined) entry.retired = false;
    }
  }

  private async unload(key: string): Promise<void> {
    const entry = this.loaded.get(key);
    if (entry === undefined) return;
    this.loaded.delete(key);
    await entry.decider.close();
  }
}

/** A deployment of one fixed version (a pinned `--model name@version`, a replay, the registry's production marker). */
export function fixedDeployment(model: string, version: string, updatedAt = new Date()): Deployment {
  return { kind: 'deployment', model, revision: 0, production: version, fabrics: {}, updatedAt: updatedAt.toISOString() };
}

/**
 * `decider` as the version `requested` when another version runs in its place (its INT8 variant):
 * its verdicts' `model.requested` says what was asked for. Unchanged when it is the version asked for.
 */
export function servedFor(decider: Decider, requested: string): Decider {
  if (requested === decider.model.version) return decider;
  const model = { ...decider.model, requested };
  return {
    model,
    decide: (image, fabricCode, falseAlarmRate) => decider.decide(image, fabricCode, falseAlarmRate),
    close: () => decider.close(),
    get usable() {
      return decider.usable;
    },
  };
}
