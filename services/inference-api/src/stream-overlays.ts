import type { ObjectRef } from '@loomwatch/contracts';
import { OverlayRenderer, mapOfOverlay, type RenderedOverlay } from '@loomwatch/overlay';
import type { BlobStore } from '@loomwatch/storage';
import { HttpProblem } from './problem.js';

export interface StreamOverlaysOptions {
  /** Results buckets whose overlays may be asked for (the workers' `worker.outputBucket`). */
  buckets: readonly string[];
  /** Buckets the maps' frames may be read from (the workers' `worker.allowedBuckets`). */
  frameBuckets: readonly string[];
  /** Renders at once; past it, 429. */
  maxConcurrentRenders: number;
  retryAfterSeconds: number;
}

/** A key segment that may not be served: empty, `.`/`..`, or with a control character or backslash. */
function badSegment(segment: string): boolean {
  return segment === '' || segment === '.' || segment === '..' || [...segment].some((ch) => ch < ' ' || ch === '\u007f' || ch === '\\');
}

/**
 * Stream verdicts' overlays for links outside Loomwatch (an MES): `GET /v1/overlays/{bucket}/{key}`
 * with a verdict's `overlay` answers the stored overlay, or renders it from its anomaly map and
 * frame on first request (`worker.overlays: on-request`) and stores it there. Only overlay keys of
 * the listed buckets, and frames of the listed frame buckets, are read.
 */
export class StreamOverlays {
  private readonly renderer: OverlayRenderer;

  constructor(
    private readonly store: BlobStore,
    private readonly options: StreamOverlaysOptions,
  ) {
    const readable = (ref: ObjectRef, buckets: readonly string[], what: string): ObjectRef => {
      if (!buckets.includes(ref.bucket)) throw new HttpProblem('OBJECT_NOT_ALLOWED', 403, `the ${what} is in bucket ${ref.bucket}, which the API does not read (api.streamOverlays)`);
      return ref;
    };
    this.renderer = new OverlayRenderer({
      get: (ref) => store.get(ref.key.startsWith('maps/') ? readable(ref, options.buckets, 'anomaly map') : readable(ref, options.frameBuckets, 'frame')),
      put: (ref, body, contentType) => store.put(readable(ref, options.buckets, 'overlay'), body, contentType),
    });
  }

  /** The overlay at `ref`, stored or rendered now. */
  async get(ref: ObjectRef): Promise<RenderedOverlay> {
    if (!this.options.buckets.includes(ref.bucket)) {
      throw new HttpProblem('OBJECT_NOT_ALLOWED', 403, `bucket ${ref.bucket} is not one the API serves overlays from: it serves ${this.options.buckets.join(', ')}`);
    }
    if (ref.key.length > 1024 || ref.key.split('/').some(badSegment)) {
      throw new HttpProblem('OBJECT_NOT_ALLOWED', 403, 'the key has an empty, "." or ".." segment, or a control character');
    }
    const { format } = mapOfOverlay(ref);
    if ((await this.store.head(ref)) !== undefined) return { body: await this.store.get(ref), contentType: format === 'jpeg' ? 'image/jpeg' : 'image/png' };
    if (this.renderer.rendering >= this.options.maxConcurrentRenders) {
      throw new HttpProblem('SATURATED', 429, `${this.options.maxConcurrentRenders} overlays are being rendered: retry later`, { 'retry-after': String(this.options.retryAfterSeconds) });
    }
    return this.renderer.render(ref);
  }
}
