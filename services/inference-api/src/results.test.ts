import { describe, expect, it } from 'vitest';
import { ResultCache } from './results.js';

const LOOK = { colour: 'reject', pixelThreshold: 0.5, normalization: { min: 0, max: 1 }, format: 'jpeg', jpegQuality: 85, pngCompressionLevel: 1, regions: [] } as const;
const result = (bytes: number) => ({ anomalyMapPng: Buffer.alloc(bytes), image: Buffer.alloc(bytes), look: { ...LOOK, regions: [] } });

describe('ResultCache', () => {
  it('keeps at most maxEntries results, dropping the least recently used', () => {
    const cache = new ResultCache(2, 1_000);
    cache.put('a', result(1));
    cache.put('b', result(1));
    expect(cache.get('a')).toBeDefined();
    cache.put('c', result(1));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
  });

  it('keeps its bytes under maxBytes', () => {
    const cache = new ResultCache(100, 50);
    for (const id of ['a', 'b', 'c']) cache.put(id, result(10));
    expect(cache.totalBytes).toBe(40);
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
  });

  it('counts a result stored again under the same id once', () => {
    const cache = new ResultCache(10, 1_000);
    cache.put('a', result(5));
    cache.put('a', result(7));
    expect([cache.size, cache.totalBytes]).toEqual([1, 14]);
  });

  it('keeps a rendered overlay in place of the image, counting its bytes instead', () => {
    const cache = new ResultCache(10, 1_000);
    cache.put('a', result(5));
    cache.keepOverlay('a', Buffer.alloc(2));
    expect(cache.get('a')).toMatchObject({ overlayJpeg: Buffer.alloc(2) });
    expect(cache.get('a')).not.toHaveProperty('image');
    expect(cache.totalBytes).toBe(7);
    cache.keepOverlay('gone', Buffer.alloc(2));
    expect(cache.size).toBe(1);
  });
});
