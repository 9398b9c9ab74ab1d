/**
 * Frames that must each end as exactly one dead letter with a known code: one per kind the worker
 * refuses. Each carries a tag (`soak-poison-<n>`) near the start of its message, so its dead
 * letter is recognised from the original value the worker copies into it.
 */
import { createHash } from 'node:crypto';
import sharp, { type Sharp } from 'sharp';
import type { ErrorCode, FrameEvent } from '@loomwatch/contracts';

export interface PoisonFrame {
  tag: string;
  code: ErrorCode;
  /** The message value to publish on the frames topic. */
  value: Buffer;
  /** Objects to upload first (bucket, key, body). */
  uploads: { bucket: string; key: string; body: Buffer }[];
}

const sha256 = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

/** Images that pass the checksum and fail the decoder, each in its own way. */
export async function poisonImages(): Promise<Record<string, { body: Buffer; width: number; height: number; code: ErrorCode }>> {
  const canvas = (width: number, height: number, colour: { r: number; g: number; b: number }): Sharp => sharp({ create: { width, height, channels: 3, background: colour } });
  const gray = (width: number, height: number): Promise<Buffer> => canvas(width, height, { r: 90, g: 90, b: 90 }).toColourspace('b-w').png().toBuffer();
  return {
    rgb: { body: await canvas(4096, 256, { r: 200, g: 30, b: 30 }).png().toBuffer(), width: 4096, height: 256, code: 'IMAGE_CHANNELS_UNSUPPORTED' },
    deep: { body: await canvas(4096, 256, { r: 90, g: 90, b: 90 }).toColourspace('grey16').png().toBuffer(), width: 4096, height: 256, code: 'IMAGE_DEPTH_UNSUPPORTED' },
    small: { body: await gray(64, 64), width: 64, height: 64, code: 'IMAGE_TOO_SMALL' },
    huge: { body: await gray(8200, 4100), width: 8200, height: 4100, code: 'IMAGE_TOO_LARGE' },
    text: { body: Buffer.from('this is not an image at all, just text pretending to be a frame\n'.repeat(20)), width: 4096, height: 256, code: 'IMAGE_UNSUPPORTED_FORMAT' },
  };
}

/** The `n`-th poison frame: the kinds in turn, built from a valid event of the run. */
export function poisonFrame(
  n: number,
  valid: FrameEvent,
  good: Buffer,
  images: Awaited<ReturnType<typeof poisonImages>>,
  allowedBucket: string,
): PoisonFrame {
  const tag = `soak-poison-${n}`;
  const frameId = `${tag}.${valid.lineId}.${valid.cameraId}`;
  const event = (image: Partial<FrameEvent['image']>, extra: Record<string, unknown> = {}): Buffer =>
    // frameId keeps its place as the first key: the tag stays at the start of a truncated copy.
    Buffer.from(JSON.stringify({ ...valid, ...extra, frameId, image: { ...valid.image, ...image } }));
  const key = (name: string): string => `poison/${tag}/${name}`;
  const truncated = good.subarray(0, 5000);
  const kinds: (() => PoisonFrame)[] = [
    () => ({ tag, code: 'MESSAGE_NOT_JSON', value: Buffer.from(`{not json ${tag}`), uploads: [] }),
    () => ({ tag, code: 'MESSAGE_SCHEMA_VIOLATION', value: Buffer.from(JSON.stringify({ frameId, tag, image: { key: '../../etc/passwd' } })), uploads: [] }),
    () => ({ tag, code: 'MESSAGE_TOO_LARGE', value: Buffer.from(JSON.stringify({ frameId, padding: 'x'.repeat(1_010_000) })), uploads: [] }),
    () => ({ tag, code: 'BUCKET_NOT_ALLOWED', value: event({ bucket: `not-${allowedBucket}` }), uploads: [] }),
    () => ({ tag, code: 'OBJECT_NOT_FOUND', value: event({ key: key('missing.png') }), uploads: [] }),
    () => ({ tag, code: 'IMAGE_CHECKSUM_MISMATCH', value: event({ key: key('other.png'), bytes: good.length, sha256: 'f'.repeat(64) }), uploads: [{ bucket: allowedBucket, key: key('other.png'), body: good }] }),
    () => ({ tag, code: 'IMAGE_EMPTY', value: event({ key: key('empty.png'), bytes: 1, sha256: sha256(Buffer.alloc(0)) }), uploads: [{ bucket: allowedBucket, key: key('empty.png'), body: Buffer.alloc(0) }] }),
    () => ({ tag, code: 'IMAGE_CORRUPT', value: event({ key: key('corrupt.png'), bytes: truncated.length, sha256: sha256(truncated) }), uploads: [{ bucket: allowedBucket, key: key('corrupt.png'), body: truncated }] }),
    () => ({ tag, code: 'IMAGE_DIMENSIONS_MISMATCH', value: event({ key: key('dims.png'), width: 2048, bytes: good.length, sha256: sha256(good) }), uploads: [{ bucket: allowedBucket, key: key('dims.png'), body: good }] }),
    ...Object.entries(images).map(([name, image]) => (): PoisonFrame => ({
      tag,
      code: image.code,
      value: event({ key: key(`${name}.png`), width: image.width, height: image.height, bytes: image.body.length, sha256: sha256(image.body) }),
      uploads: [{ bucket: allowedBucket, key: key(`${name}.png`), body: image.body }],
    })),
  ];
  const kind = kinds[n % kinds.length];
  if (kind === undefined) throw new Error('no poison kinds');
  return kind();
}

/** The number of poison kinds, so a run can include each at least once. */
export const POISON_KINDS = 14;
