import { describe, expect, it } from 'vitest';
import type { ObjectAllowance } from './config.js';
import { allowedObject, contentTypeOf, objectPath, objectPolicyOf } from './objects.js';
import { HttpProblem } from './problem.js';

const ALLOW: ObjectAllowance[] = [
  { bucket: 'loomwatch-frames', prefixes: ['frames/'] },
  { bucket: 'loomwatch-results', prefixes: ['maps/', 'overlays/'] },
];

function refusal(path: string): string {
  try {
    allowedObject(path, ALLOW);
  } catch (err) {
    if (err instanceof HttpProblem) return `${err.status} ${err.code}`;
    throw err;
  }
  return 'allowed';
}

describe('the object proxy\'s allow-list', () => {
  it('allows the frames, anomaly maps and overlays Loomwatch writes, and round-trips a key through its proxy path', () => {
    const ref = { bucket: 'loomwatch-results', key: 'overlays/draem-aitex/1.0.0/line 1/cam-1/f+1.jpg' };
    expect(allowedObject(objectPath(ref), ALLOW)).toEqual(ref);
    expect(allowedObject('/api/objects/loomwatch-frames/frames/l/c/f.png', ALLOW)).toEqual({ bucket: 'loomwatch-frames', key: 'frames/l/c/f.png' });
    expect(allowedObject('/api/objects/loomwatch-results/maps/m/1/l/c/f.png', ALLOW).key).toBe('maps/m/1/l/c/f.png');
  });

  it('refuses a bucket not listed, whatever the key', () => {
    expect(refusal('/api/objects/loomwatch-secrets/frames/a.png')).toBe('403 BUCKET_NOT_ALLOWED');
    expect(refusal('/api/objects/')).toBe('403 BUCKET_NOT_ALLOWED');
    expect(refusal('/api/objects/%6c%6f%6fmwatch-other/maps/a.png')).toBe('403 BUCKET_NOT_ALLOWED');
  });

  it('refuses keys outside the bucket\'s prefixes, and escapes: "..", ".", empty and encoded-slash segments, control characters, backslashes, bad encoding', () => {
    for (const path of [
      '/api/objects/loomwatch-results/models/secret.onnx',
      '/api/objects/loomwatch-results/frames/a.png',
      '/api/objects/loomwatch-frames/maps/a.png',
      '/api/objects/loomwatch-results',
      '/api/objects/loomwatch-results/',
      '/api/objects/loomwatch-results/overlays/../../secret',
      '/api/objects/loomwatch-results/overlays/%2e%2e/secret',
      '/api/objects/loomwatch-results/overlays/./a.jpg',
      '/api/objects/loomwatch-results/overlays//a.jpg',
      '/api/objects/loomwatch-results/overlays%2Fa.jpg',
      '/api/objects/loomwatch-results/overlays/a%2F..%2F..%2Fb',
      '/api/objects/loomwatch-results/overlays/a%00.jpg',
      '/api/objects/loomwatch-results/overlays/a%5Cb.jpg',
      '/api/objects/loomwatch-results/overlays/%E0%A4%A',
      `/api/objects/loomwatch-results/overlays/${'a'.repeat(1100)}`,
    ]) {
      expect(refusal(path), path).toBe('403 OBJECT_NOT_ALLOWED');
    }
  });

  it('names the content type by extension, and anything unknown as octet-stream', () => {
    expect(contentTypeOf('overlays/a.jpg')).toBe('image/jpeg');
    expect(contentTypeOf('maps/a.PNG')).toBe('image/png');
    expect(contentTypeOf('frames/a.tiff')).toBe('image/tiff');
    expect(contentTypeOf('frames/a.html')).toBe('application/octet-stream');
    expect(contentTypeOf('frames/a')).toBe('application/octet-stream');
  });

  it('serves HTML as a page only from the retrain reports\' place, and a page without scripts, forms or frames but with its own images and styles', () => {
    const reports = { bucket: 'loomwatch-datasets', prefix: 'retrain/' };
    const report = { bucket: 'loomwatch-datasets', key: 'retrain/r1/report/index.html' };
    expect(contentTypeOf(report, reports)).toBe('text/html; charset=utf-8');
    expect(contentTypeOf({ bucket: 'loomwatch-datasets', key: 'retrain/r1/report/chart.svg' }, reports)).toBe('image/svg+xml');
    expect(contentTypeOf({ bucket: 'loomwatch-datasets', key: 'retrain/r1/report/report.json' }, reports)).toBe('application/json');
    expect(contentTypeOf({ bucket: 'loomwatch-datasets', key: 'snapshots/index.html' }, reports)).toBe('application/octet-stream');
    expect(contentTypeOf({ bucket: 'loomwatch-frames', key: 'retrain/index.html' }, reports)).toBe('application/octet-stream');
    expect(contentTypeOf(report)).toBe('application/octet-stream');
    const page = objectPolicyOf('text/html; charset=utf-8');
    expect(page).toContain("default-src 'none'");
    expect(page).toContain("img-src 'self' data:");
    expect(page).toMatch(/sandbox allow-same-origin$/);
    expect(page).not.toMatch(/script-src|allow-scripts|allow-forms/);
    expect(objectPolicyOf('image/png')).toBe("default-src 'none'; sandbox");
  });
});
