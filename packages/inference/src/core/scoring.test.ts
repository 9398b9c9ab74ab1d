import { describe, expect, it } from 'vitest';
import { calibrationFor, normalizeScore, verdictFor } from './scoring.js';

const norm = { min: 0.2, max: 0.9 };

describe('verdictFor', () => {
  it('calls a frame defective from the threshold up', () => {
    expect(verdictFor(0.5, 0.5)).toBe('defect');
    expect(verdictFor(0.51, 0.5)).toBe('defect');
    expect(verdictFor(0.4999, 0.5)).toBe('ok');
  });
});

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

describe('calibrationFor', () => {
  const postprocess = {
    smoothingKernel: 21,
    imageThreshold: 0.4,
    pixelThreshold: 0.3,
    normalization: { min: 0.1, max: 0.8 },
    fabrics: { '02': { imageThreshold: 0.5, pixelThreshold: 0.35, normalization: { min: 0.2, max: 0.9 } } },
  };

  it("takes the fabric's thresholds and normalisation when the card calibrates that fabric", () => {
    expect(calibrationFor(postprocess, '02')).toEqual({ fabric: '02', ...postprocess.fabrics['02'] });
  });

  it('falls back to the pooled values for another fabric, no fabric, or a card without fabrics', () => {
    const pooled = { fabric: null, imageThreshold: 0.4, pixelThreshold: 0.3, normalization: { min: 0.1, max: 0.8 } };
    expect(calibrationFor(postprocess, '05')).toEqual(pooled);
    expect(calibrationFor(postprocess)).toEqual(pooled);
    expect(calibrationFor({ ...postprocess, fabrics: undefined }, '02')).toEqual(pooled);
  });
});
