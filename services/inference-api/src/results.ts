import type { OverlayLook } from '@loomwatch/overlay';

/**
 * The pictures of one answered request. The overlay is rendered on its first `GET` (the decision
 * skips it: `overlays: on-request`), from the anomaly map, the image as sent and the look; until
 * then the image is kept instead of the overlay, and once rendered the overlay replaces it.
 */
export interface StoredResult {
  anomalyMapPng: Buffer;
  /** The rendered overlay (JPEG), once asked for. */
  overlayJpeg?: Buffer;
  /** The image as sent, until the overlay is rendered. */
  image?: Buffer;
  /** How to render the overlay (heat scale, regions, format). */
  look: OverlayLook;
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

  /** Keeps a result's rendered overlay in place of its image, if the result is still here. */
  keepOverlay(id: string, overlayJpeg: Buffer): void {
    const found = this.entries.get(id);
    if (found === undefined || found.overlayJpeg !== undefined) return;
    const { anomalyMapPng, look } = found;
    this.bytes -= sizeOf(found);
    const updated = { anomalyMapPng, look, overlayJpeg };
    this.entries.set(id, updated);
    this.bytes += sizeOf(updated);
  }

  private delete(id: string): void {
    const found = this.entries.get(id);
    if (found === undefined) return;
    this.entries.delete(id);
    this.bytes -= sizeOf(found);
  }
}

const sizeOf = (result: StoredResult): number => result.anomalyMapPng.length + (result.overlayJpeg?.length ?? 0) + (result.image?.length ?? 0);
