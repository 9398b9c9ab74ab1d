import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from './codec.js';
import { FrameEvent } from './frame-event.js';
import { messageKey, parseMessageKey } from './topics.js';

const frame: FrameEvent = {
  frameId: 'line-1.cam-1.000001',
  lineId: 'line-1',
  cameraId: 'cam-1',
  seq: 1,
  capturedAt: '2026-11-22T00:00:00.000Z',
  image: {
    bucket: 'frames',
    key: 'line-1/cam-1/000001.png',
    width: 4096,
    height: 256,
    encoding: 'png',
    bytes: 1_000_000,
    sha256: 'a'.repeat(64),
  },
  product: { fabricCode: '00', rollId: 'roll-7', position: 12.5 },
};

describe('FrameEvent', () => {
  it('round-trips through encode and decode unchanged', () => {
    expect(decodeMessage(FrameEvent, encodeMessage(FrameEvent, frame))).toEqual(frame);
  });

  it('rejects an object key that climbs out with ".."', () => {
    const bad = { ...frame, image: { ...frame.image, key: 'a/../../etc/passwd' } };
    expect(() => encodeMessage(FrameEvent, bad)).toThrow(/image\.key: must not contain a "\.\." segment/);
  });

  it('rejects an absolute object key', () => {
    const bad = { ...frame, image: { ...frame.image, key: '/etc/passwd' } };
    expect(() => decodeMessage(FrameEvent, JSON.stringify(bad))).toThrow(expect.objectContaining({ code: 'MESSAGE_SCHEMA_VIOLATION' }));
  });

  it('rejects unknown fields, so typos do not pass silently', () => {
    expect(() => decodeMessage(FrameEvent, JSON.stringify({ ...frame, frameID: 'x' }))).toThrow(/Unrecognized key/);
  });

  it('reports a value that is not JSON as MESSAGE_NOT_JSON', () => {
    expect(() => decodeMessage(FrameEvent, Buffer.from('{not json'))).toThrow(expect.objectContaining({ code: 'MESSAGE_NOT_JSON' }));
  });

  it('reports an oversized value as MESSAGE_TOO_LARGE before parsing it', () => {
    expect(() => decodeMessage(FrameEvent, Buffer.alloc(2_000_000, 32))).toThrow(expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }));
  });

  it('rejects a line id containing the key separator', () => {
    expect(() => encodeMessage(FrameEvent, { ...frame, lineId: 'a:b' })).toThrow(/lineId/);
  });
});

describe('message keys', () => {
  it('join line and camera with ":" and split back', () => {
    expect(messageKey('line-1', 'cam-2')).toBe('line-1:cam-2');
    expect(parseMessageKey('line-1:cam-2')).toEqual({ lineId: 'line-1', cameraId: 'cam-2' });
    expect(parseMessageKey('no-separator')).toBeUndefined();
  });
});
