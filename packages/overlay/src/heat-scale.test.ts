import { describe, expect, it } from 'vitest';
import { normalizeScore } from './heat-scale.js';

const norm = { min: 0.2, max: 0.9 };

describe('normalizeScore', () => {
  it('maps the image threshold to exactly 0.5', () => {
    expect(normalizeScore(0.6, 0.6, norm)).toBe(0.5);
    expect(normalizeScore(0.5150949358940125, 0.5150949358940125, { min: 0.5150885581970215, max: 0.5297433137893677 })).toBe(0.5);
  });

  it('maps normalization.min to 0 and normalization.max to 1', () => {
    expect(normalizeScore(0.2, 0.6, norm)).toBe(0);
    expect(normalizeScore(0.9, 0.6, norm)).toBe(1);
  });

  it('is linear on each side of the threshold', () => {
    expect(normalizeScore(0.4, 0.6, norm)).toBeCloseTo(0.25, 12);
    expect(normalizeScore(0.75, 0.6, norm)).toBeCloseTo(0.75, 12);
  });

  it('clamps scores outside the normalization range', () => {
    expect(normalizeScore(0.05, 0.6, norm)).toBe(0);
    expect(normalizeScore(0.99, 0.6, norm)).toBe(1);
  });

  it('stays defined when the threshold sits on a normalization bound', () => {
    expect(normalizeScore(0.1, 0.2, norm)).toBe(0);
    expect(normalizeScore(0.95, 0.9, norm)).toBe(1);
    expect(normalizeScore(0.9, 0.9, norm)).toBe(0.5);
  });
});
