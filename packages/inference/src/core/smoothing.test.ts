import { describe, expect, it } from 'vitest';
import { maxOf, meanFilter, smoothedMax } from './smoothing.js';

/** The filter by its definition: zero padding, divisor k² everywhere. */
function naiveMeanFilter(src: Float32Array, width: number, height: number, k: number): number[] {
  const r = k >> 1;
  const out: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let yy = y - r; yy <= y + r; yy++) {
        for (let xx = x - r; xx <= x + r; xx++) {
          if (yy >= 0 && yy < height && xx >= 0 && xx < width) sum += src[yy * width + xx] ?? 0;
        }
      }
      out.push(sum / (k * k));
    }
  }
  return out;
}

describe('meanFilter', () => {
  it('divides by k² at the border, counting the zero padding', () => {
    const ones = new Float32Array(9).fill(1);
    const out = Array.from(meanFilter(ones, 3, 3, 3));
    const expected = [4, 6, 4, 6, 9, 6, 4, 6, 4].map((c) => c / 9);
    out.forEach((value, i) => expect(value).toBeCloseTo(expected[i] ?? NaN, 7));
  });

  it('spreads a single peak evenly over its k×k neighbourhood', () => {
    const src = new Float32Array(25);
    src[12] = 9;
    const out = meanFilter(src, 5, 5, 3);
    const expected = [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0];
    expect(Array.from(out).map((v) => Math.round(v * 1e6) / 1e6)).toEqual(expected);
  });

  it('is the identity for k = 1', () => {
    const src = Float32Array.from([0.1, 0.7, 0.3, 0.9, 0.5, 0.2]);
    expect(Array.from(meanFilter(src, 3, 2, 1))).toEqual(Array.from(src));
  });

  it('handles a kernel larger than the frame', () => {
    const out = meanFilter(new Float32Array(4).fill(1), 2, 2, 5);
    Array.from(out).forEach((value) => expect(value).toBeCloseTo(4 / 25, 7));
  });

  it('matches the definition on a map narrower than the kernel', () => {
    const src = Float32Array.from({ length: 3 * 11 }, (_, i) => ((i * 37) % 11) / 11);
    const out = meanFilter(src, 3, 11, 7);
    naiveMeanFilter(src, 3, 11, 7).forEach((value, i) => expect(out[i]).toBeCloseTo(value, 6));
  });

  it('matches the definition on an irregular map with a 5×5 kernel', () => {
    const width = 13;
    const height = 7;
    const src = Float32Array.from({ length: width * height }, (_, i) => ((i * 7919) % 101) / 100);
    const out = meanFilter(src, width, height, 5);
    naiveMeanFilter(src, width, height, 5).forEach((value, i) => expect(out[i]).toBeCloseTo(value, 6));
  });
});

describe('smoothedMax', () => {
  it('is the maximum of the filtered map, the frame score', () => {
    const width = 17;
    const height = 9;
    const src = Float32Array.from({ length: width * height }, (_, i) => ((i * 4231) % 97) / 97);
    expect(smoothedMax(src, width, height, 7)).toBeCloseTo(Math.max(...naiveMeanFilter(src, width, height, 7)), 6);
    expect(smoothedMax(src, width, height, 1)).toBe(maxOf(src));
  });

  it('is NaN when the map holds a NaN or an infinity, instead of the max of the rest', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 37, 63]) {
        const src = new Float32Array(64).fill(0.2);
        src[at] = bad;
        expect(smoothedMax(src, 8, 8, 3)).toBeNaN();
        expect(smoothedMax(src, 8, 8, 1)).toBeNaN();
      }
    }
  });

  it('scores a lone hot pixel as its value divided by k², even in a corner', () => {
    const src = new Float32Array(64);
    src[0] = 1;
    expect(smoothedMax(src, 8, 8, 3)).toBeCloseTo(1 / 9, 7);
  });
});

describe('maxOf', () => {
  it('returns the largest value', () => {
    expect(maxOf(Float32Array.from([0.25, 0.75, 0.5]))).toBe(0.75);
  });
});
