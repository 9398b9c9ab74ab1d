import { describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '@loomwatch/storage';
import { StreamOverlays } from './stream-overlays.js';

const OPTIONS = { buckets: ['results'], frameBuckets: ['frames'], maxConcurrentRenders: 2, retryAfterSeconds: 1 };
const KEY = 'overlays/m/1.0.0/line-1/cam-1/f1.jpg';

async function overlays(): Promise<{ store: MemoryBlobStore; streams: StreamOverlays }> {
  const store = new MemoryBlobStore();
  await store.ensureBucket('results');
  await store.ensureBucket('elsewhere');
  return { store, streams: new StreamOverlays(store, OPTIONS) };
}

describe('StreamOverlays', () => {
  it('answers a stored overlay as it is, with the type its key names', async () => {
    const { store, streams } = await overlays();
    await store.put({ bucket: 'results', key: KEY }, Buffer.from('jpeg bytes'));
    expect(await streams.get({ bucket: 'results', key: KEY })).toEqual({ body: Buffer.from('jpeg bytes'), contentType: 'image/jpeg' });
  });

  it.each([
    ['a bucket it does not serve', { bucket: 'elsewhere', key: KEY }, { code: 'OBJECT_NOT_ALLOWED', status: 403 }],
    ['a key with a ".." segment', { bucket: 'results', key: 'overlays/../maps/x.jpg' }, { code: 'OBJECT_NOT_ALLOWED', status: 403 }],
    ['a key with an empty segment', { bucket: 'results', key: 'overlays//x.jpg' }, { code: 'OBJECT_NOT_ALLOWED', status: 403 }],
    ['a key that is not an overlay', { bucket: 'results', key: 'maps/m/1.0.0/line-1/cam-1/f1.png' }, { problem: 'OVERLAY_KEY_INVALID', code: 'OBJECT_KEY_INVALID' }],
    ['an overlay without its map', { bucket: 'results', key: KEY }, { problem: 'OVERLAY_MAP_MISSING', code: 'OBJECT_NOT_FOUND' }],
  ])('refuses %s', async (_, ref, refusal) => {
    const { streams } = await overlays();
    await expect(streams.get(ref)).rejects.toMatchObject(refusal);
  });
});
