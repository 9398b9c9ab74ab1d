import { describe, expect, it } from 'vitest';
import { ResultCache } from './results.js';

const result = (bytes: number) => ({ anomalyMapPng: Buffer.alloc(bytes), overlayJpeg: Buffer.alloc(bytes) });

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
});
