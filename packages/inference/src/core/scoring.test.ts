import { describe, expect, it } from 'vitest';
import type { ModelCard, OperatingPoint } from '@loomwatch/contracts';
import { calibrationFor, routeFor, thresholdAt, verdictFor } from './scoring.js';

describe('verdictFor', () => {
  it('calls a frame defective from the threshold up', () => {
    expect(verdictFor(0.5, 0.5)).toBe('defect');
    expect(verdictFor(0.51, 0.5)).toBe('defect');
    expect(verdictFor(0.4999, 0.5)).toBe('ok');
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
    expect(calibrationFor(postprocess, '02')).toEqual({ fabric: '02', falseAlarmRate: null, ...postprocess.fabrics['02'] });
  });

  it('falls back to the pooled values for another fabric, no fabric, or a card without fabrics', () => {
    const pooled = { fabric: null, falseAlarmRate: null, imageThreshold: 0.4, pixelThreshold: 0.3, normalization: { min: 0.1, max: 0.8 } };
    expect(calibrationFor(postprocess, '05')).toEqual(pooled);
    expect(calibrationFor(postprocess)).toEqual(pooled);
    expect(calibrationFor({ ...postprocess, fabrics: undefined }, '02')).toEqual(pooled);
  });

  it('falls back to the pooled values for a fabric code named like an object property (constructor, toString)', () => {
    expect(calibrationFor(postprocess, 'constructor')).toMatchObject({ fabric: null, imageThreshold: 0.4 });
    expect(calibrationFor(postprocess, 'toString')).toMatchObject({ fabric: null, imageThreshold: 0.4 });
  });

  it('keeps the pixel threshold at or below the image threshold in force, so a defect has a region', () => {
    const card = { ...postprocess, pixelThreshold: 0.45, fabrics: { '02': { ...postprocess.fabrics['02'], pixelThreshold: 0.6 } } };
    expect(calibrationFor(card)).toMatchObject({ imageThreshold: 0.4, pixelThreshold: 0.4 });
    expect(calibrationFor(card, '02')).toMatchObject({ imageThreshold: 0.5, pixelThreshold: 0.5 });
    expect(calibrationFor(postprocess)).toMatchObject({ imageThreshold: 0.4, pixelThreshold: 0.3 });
  });

  it('ignores a requested rate for a calibration without operating points: its image threshold applies, at no stated rate', () => {
    expect(calibrationFor(postprocess, '02', 0.01)).toMatchObject({ fabric: '02', imageThreshold: 0.5, falseAlarmRate: null });
  });

  describe('with operating points', () => {
    const point = (falseAlarmRate: number, imageThreshold: number): OperatingPoint => ({
      falseAlarmRate,
      imageThreshold,
      observed: { falseAlarms: 0, frames: 100, low: 0, high: 0.036 },
    });
    const grid = (points: OperatingPoint[]) => ({ frames: 100, source: 'test normals', points });
    const card: ModelCard['postprocess'] = {
      ...postprocess,
      imageThreshold: 0.62,
      operatingPoints: grid([point(0.001, 0.81), point(0.01, 0.7), point(0.05, 0.62), point(0.2, 0.55)]),
      fabrics: { '02': { imageThreshold: 0.5, pixelThreshold: 0.35, normalization: { min: 0.2, max: 0.9 }, operatingPoints: grid([point(0.01, 0.6), point(0.1, 0.4)]) } },
    };

    it("applies the card's image threshold as the 0.05 point when no rate is asked", () => {
      expect(calibrationFor(card)).toMatchObject({ fabric: null, imageThreshold: 0.62, falseAlarmRate: 0.05 });
      expect(calibrationFor(card, '02')).toMatchObject({ fabric: '02', imageThreshold: 0.5, falseAlarmRate: 0.05 });
    });

    it("takes a grid point's threshold exactly at its rate", () => {
      expect(calibrationFor(card, undefined, 0.01)).toMatchObject({ imageThreshold: 0.7, falseAlarmRate: 0.01 });
      expect(calibrationFor(card, undefined, 0.2)).toMatchObject({ imageThreshold: 0.55, falseAlarmRate: 0.2 });
    });

    it('interpolates linearly in log(rate) between the bracketing points', () => {
      // 0.02 is log(2)/log(5) of the way from 0.01 to 0.05.
      const t = Math.log(2) / Math.log(5);
      expect(calibrationFor(card, undefined, 0.02).imageThreshold).toBeCloseTo(0.7 + t * (0.62 - 0.7), 12);
      // The geometric mean of 0.01 and 0.1 is halfway on the fabric's grid.
      expect(calibrationFor(card, '02', Math.sqrt(0.001)).imageThreshold).toBeCloseTo(0.5, 12);
      expect(calibrationFor(card, '02', Math.sqrt(0.001))).toMatchObject({ fabric: '02', falseAlarmRate: Math.sqrt(0.001) });
    });

    it("clamps a rate outside the grid to the first or last point, and says which rate's threshold applies", () => {
      expect(calibrationFor(card, '02', 0.001)).toMatchObject({ imageThreshold: 0.6, falseAlarmRate: 0.01 });
      expect(calibrationFor(card, '02', 0.2)).toMatchObject({ imageThreshold: 0.4, falseAlarmRate: 0.1 });
    });

    it('lowers the pixel threshold with the image threshold in force', () => {
      expect(calibrationFor({ ...card, pixelThreshold: 0.65 }, undefined, 0.1)).toMatchObject({ pixelThreshold: calibrationFor(card, undefined, 0.1).imageThreshold });
      expect(calibrationFor({ ...card, pixelThreshold: 0.65 }, undefined, 0.001)).toMatchObject({ imageThreshold: 0.81, pixelThreshold: 0.65 });
    });

    it("uses the fabric's calibration as it is when only the pooled one has operating points", () => {
      const pooledOnly = { ...card, fabrics: { '02': { imageThreshold: 0.5, pixelThreshold: 0.35, normalization: { min: 0.2, max: 0.9 } } } };
      expect(calibrationFor(pooledOnly, '02', 0.01)).toMatchObject({ fabric: '02', imageThreshold: 0.5, falseAlarmRate: null });
      expect(calibrationFor(pooledOnly, '07', 0.01)).toMatchObject({ fabric: null, imageThreshold: 0.7, falseAlarmRate: 0.01 });
    });
  });
});

describe('thresholdAt', () => {
  const points = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2].map((falseAlarmRate, i) => ({
    falseAlarmRate,
    imageThreshold: 0.9 - i * 0.05,
    observed: { falseAlarms: 0, frames: 120, low: 0, high: 0.03 },
  }));

  it('never rises as the rate rises, across and beyond the grid', () => {
    const rates = Array.from({ length: 200 }, (_, i) => 0.0005 * 1.04 ** i);
    const thresholds = rates.map((rate) => thresholdAt(points, rate).imageThreshold);
    for (let i = 1; i < thresholds.length; i++) expect(thresholds[i]).toBeLessThanOrEqual(thresholds[i - 1] ?? Infinity);
    expect(thresholds[0]).toBe(0.9);
    expect(thresholds.at(-1)).toBe(points.at(-1)?.imageThreshold);
  });

  it('answers a one-point grid with its point', () => {
    expect(thresholdAt(points.slice(0, 1), 0.05)).toEqual({ imageThreshold: 0.9, falseAlarmRate: 0.001 });
  });
});

describe('routeFor', () => {
  const routing = { input: 'bank', fabrics: { '00': 0, '01': 1, '06': 6 }, fallback: 7 };

  it("gives a listed fabric its own index and any other frame the fallback", () => {
    expect(routeFor(routing, '01')).toBe(1);
    expect(routeFor(routing, '00')).toBe(0);
    expect(routeFor(routing, '09')).toBe(7);
    expect(routeFor(routing)).toBe(7);
    expect(routeFor(routing, 'constructor')).toBe(7);
  });

  it('routes nothing for a card without routing', () => {
    expect(routeFor(undefined, '01')).toBeUndefined();
  });
});
