import { createHash } from 'node:crypto';
import { falseAlarmRateFor, ownValue, type Deployment, type FrameEvent } from '@loomwatch/contracts';

/** Which version decides a frame, why, which version (if any) shadows it, and at which false-alarm rate. */
export interface Route {
  version: string;
  rule: 'fabric' | 'canary' | 'production';
  shadow?: string;
  /** The deployment's false-alarm rate for the frame's line (both versions judge at it); absent: each card's default. */
  falseAlarmRate?: number;
}

/**
 * A frame's position in [0, 1), from its id: the same frame always lands in the same place, so
 * a redelivered or replayed frame is shadowed (or not) the same way.
 */
export function sampleKey(frameId: string): number {
  return createHash('sha256').update(frameId).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Per-fabric model first, then canary lines and cameras, then production; shadow on a sample; the
 * line's false-alarm rate, else the deployment's.
 */
export function routeFrame(deployment: Deployment, frame: Pick<FrameEvent, 'frameId' | 'lineId' | 'cameraId' | 'product'>): Route {
  const fabric = frame.product?.fabricCode;
  const fabricVersion = ownValue(deployment.fabrics, fabric);
  const canary = deployment.canary;
  const route: Route =
    fabricVersion !== undefined
      ? { version: fabricVersion, rule: 'fabric' }
      : canary !== undefined && (canary.lines.includes(frame.lineId) || canary.cameras.includes(`${frame.lineId}:${frame.cameraId}`))
        ? { version: canary.version, rule: 'canary' }
        : { version: deployment.production, rule: 'production' };
  const falseAlarmRate = falseAlarmRateFor(deployment, frame.lineId);
  if (falseAlarmRate !== undefined) route.falseAlarmRate = falseAlarmRate;
  const shadow = deployment.shadow;
  if (shadow !== undefined && shadow.version !== route.version && sampleKey(frame.frameId) < shadow.sample) {
    route.shadow = shadow.version;
  }
  return route;
}
