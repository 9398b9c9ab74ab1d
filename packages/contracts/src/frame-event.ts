import { z } from 'zod';
import { Attributes, BucketName, Id, ObjectKey, Sha256, Timestamp } from './primitives.js';

export const ImageEncoding = z.enum(['png', 'jpeg', 'tiff', 'webp', 'raw-gray8']);
export type ImageEncoding = z.infer<typeof ImageEncoding>;

/** A frame a camera produced, published on `frames.v1` once its image is in the object store. */
export const FrameEvent = z.strictObject({
  frameId: Id,
  lineId: Id,
  cameraId: Id,
  /** Per-camera sequence number, increasing. */
  seq: z.int().nonnegative(),
  capturedAt: Timestamp,
  image: z.strictObject({
    bucket: BucketName,
    key: ObjectKey,
    width: z.int().positive().max(65_536),
    height: z.int().positive().max(65_536),
    encoding: ImageEncoding,
    bytes: z.int().positive().max(512 * 1024 * 1024),
    sha256: Sha256,
  }),
  product: z
    .strictObject({
      fabricCode: z.string().min(1).max(32).optional(),
      rollId: z.string().min(1).max(64).optional(),
      /** Position along the roll, in metres. */
      position: z.number().nonnegative().optional(),
    })
    .optional(),
  attributes: Attributes.optional(),
});
export type FrameEvent = z.infer<typeof FrameEvent>;
