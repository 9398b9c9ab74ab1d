import type { ObjectRef } from '@loomwatch/contracts';
import { Semaphore } from '@loomwatch/concurrency';
import { OverlayRenderer, OverlayUnavailableError, type OverlayProblem, type RenderedOverlay } from '@loomwatch/overlay';
import type { BlobStore } from '@loomwatch/storage';
import type { ObjectAllowance } from './config.js';
import { allowedObject, objectPath } from './objects.js';
import { HttpProblem, type HttpErrorCode } from './problem.js';

/** The status the proxy answers for an overlay that cannot be rendered. */
const STATUS: Record<OverlayProblem, number> = {
  OVERLAY_KEY_INVALID: 404,
  OVERLAY_MAP_MISSING: 404,
  OVERLAY_FRAME_MISSING: 404,
  OVERLAY_RECIPE_MISSING: 404,
  OVERLAY_FRAME_CHANGED: 409,
  OVERLAY_RECIPE_INVALID: 422,
};

/** Whether a key is one the workers name overlays by (`overlays/…jpg|png`). */
export function isOverlayKey(key: string): boolean {
  return /^overlays\/.+\.(jpg|png)$/.test(key);
}

/**
 * The proxy's overlays rendered on first request (`worker.overlays: on-request`): an overlay key S3
 * does not have is rendered from its stored map and frame, stored at that key (the dashboard's S3
 * user needs write on the overlays prefix, nothing else) and served; renders beyond
 * `maxConcurrent` wait their turn. The frame the map names must be one the proxy may serve too.
 */
export class OverlayDesk {
  private readonly renderer: OverlayRenderer;
  private readonly slots: Semaphore;

  constructor(blobs: BlobStore, allow: readonly ObjectAllowance[], maxConcurrent: number) {
    this.slots = new Semaphore(maxConcurrent);
    this.renderer = new OverlayRenderer({
      get: (ref: ObjectRef) => blobs.get(allowedObject(objectPath(ref), allow)),
      put: (ref, body, contentType) => blobs.put(ref, body, contentType),
    });
  }

  /** Renders and stores the overlay at `ref`; a refusal is an `HttpProblem` with the overlay problem's code. */
  async render(ref: ObjectRef): Promise<RenderedOverlay> {
    try {
      return await this.slots.run(() => this.renderer.render(ref));
    } catch (err) {
      if (err instanceof OverlayUnavailableError) throw new HttpProblem(err.problem satisfies HttpErrorCode, STATUS[err.problem], err.message);
      throw err;
    }
  }
}
