/** The pictures of one answered request. */
export interface StoredResult {
  anomalyMapPng: Buffer;
  overlayJpeg: Buffer;
}

/**
 * The last results, in memory, bounded by count and bytes; the least recently read or written go
 * first. Results expire by design: the worker's S3 keys are the durable path.
 */
export class ResultCache {
  private readonly entries = new Map<string, StoredResult>();
  private bytes = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  put(id: string, result: StoredResult): void {
    this.delete(id);
    this.entries.set(id, result);
    this.bytes += sizeOf(result);
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  get(id: string): StoredResult | undefined {
    const found = this.entries.get(id);
    if (found !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, found);
    }
    return found;
  }

  private delete(id: string): void {
    const found = this.entries.get(id);
    if (found === undefined) return;
    this.entries.delete(id);
    this.bytes -= sizeOf(found);
  }
}

const sizeOf = (result: StoredResult): number => result.anomalyMapPng.length + result.overlayJpeg.length;
