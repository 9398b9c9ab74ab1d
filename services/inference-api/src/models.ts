import type { Decider } from '@loomwatch/inference';

interface Loaded {
  decider: Promise<Decider>;
  users: number;
  evicted: boolean;
}

/**
 * The model versions the API has loaded, by canonical reference (`name@version`), at most
 * `maxLoaded`: past that the least recently used one is closed once no request is using it. A
 * reference is made canonical first (the registry's `MODEL_NOT_FOUND` for an unknown one), so
 * requests for models that do not exist never push a loaded one out. A load that fails is
 * forgotten, so the next request tries again.
 */
export class ModelCache {
  private readonly loaded = new Map<string, Loaded>();

  constructor(
    private readonly load: (ref: string) => Promise<Decider>,
    readonly maxLoaded: number,
    private readonly canonical: (ref: string) => Promise<string> = (ref) => Promise.resolve(ref),
  ) {}

  get size(): number {
    return this.loaded.size;
  }

  /** Runs `work` with the decider of `ref`, loading it first when needed. */
  async use<T>(ref: string, work: (decider: Decider) => Promise<T>): Promise<T> {
    const entry = this.acquire(await this.canonical(ref));
    entry.users++;
    try {
      const decider = await entry.decider;
      return await work(decider);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) await closeQuietly(entry.decider);
    }
  }

  /** Whether the version `ref` is loaded and usable (for `/readyz`). */
  async ready(ref: string): Promise<boolean> {
    const entry = this.loaded.get(ref);
    if (entry === undefined) return false;
    try {
      return (await entry.decider).usable;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    const entries = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(entries.map((entry) => closeQuietly(entry.decider)));
  }

  private acquire(ref: string): Loaded {
    const found = this.loaded.get(ref);
    if (found !== undefined) {
      this.loaded.delete(ref);
      this.loaded.set(ref, found);
      return found;
    }
    const decider = this.load(ref);
    const entry: Loaded = { decider, users: 0, evicted: false };
    decider.catch(() => {
      if (this.loaded.get(ref) === entry) this.loaded.delete(ref);
    });
    this.loaded.set(ref, entry);
    for (const [oldRef, old] of this.loaded) {
      if (this.loaded.size <= this.maxLoaded) break;
      this.loaded.delete(oldRef);
      old.evicted = true;
      if (old.users === 0) void closeQuietly(old.decider);
    }
    return entry;
  }
}

async function closeQuietly(decider: Promise<Decider>): Promise<void> {
  try {
    await (await decider).close();
  } catch {
    // A decider that failed to load or is already closed has nothing to close.
  }
}
