import { z } from 'zod';
import { Verdict } from '@loomwatch/contracts';

/**
 * The answer of `POST /v1/infer`: the contracts' `Verdict` without what only a stream frame has
 * (frame id, line, camera, seq, capture time, worker) and with links to the pictures in place of
 * their S3 keys.
 */
export const InferenceVerdict = Verdict.omit({
  frameId: true,
  lineId: true,
  cameraId: true,
  seq: true,
  capturedAt: true,
  workerId: true,
  anomalyMap: true,
  overlay: true,
}).extend({
  /** The result's id, for the links below (which expire: see `api.maxResults`). */
  id: z.uuid(),
  width: z.int().positive(),
  height: z.int().positive(),
  links: z.strictObject({
    /** 8-bit grey PNG of the anomaly map at the image's size. */
    anomalyMap: z.string().startsWith('/v1/results/'),
    /** The image with the map blended in and region boxes drawn (JPEG). */
    overlay: z.string().startsWith('/v1/results/'),
  }),
});
export type InferenceVerdict = z.infer<typeof InferenceVerdict>;

export const resultLinks = (id: string): InferenceVerdict['links'] => ({
  anomalyMap: `/v1/results/${id}/anomaly-map.png`,
  overlay: `/v1/results/${id}/overlay.jpg`,
});
