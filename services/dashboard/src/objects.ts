import type { ObjectRef } from '@loomwatch/contracts';
import type { ObjectAllowance } from './config.js';
import { OBJECTS_PATH } from './object-path.js';
import { HttpProblem } from './problem.js';

export { OBJECTS_PATH, objectPath } from './object-path.js';

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  svg: 'image/svg+xml',
  // A report's other files (`report.json`, a stylesheet): data, never run.
  json: 'application/json',
  css: 'text/css; charset=utf-8',
};

/** Pages, served as such only from where the retrain reports are (anywhere else: octet-stream, a download). */
const PAGE_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', htm: 'text/html; charset=utf-8' };

/** Objects other than pages: shown, never run (no script, no plugin, a unique origin). */
const OBJECT_CSP = "default-src 'none'; sandbox";
/**
 * A page from the bucket (a replay report): its own styles and its images beside it (through
 * the proxy, as the dashboard's origin: `allow-same-origin` — under a bare `sandbox` Chromium loads
 * none of them), still no script, form, plugin or frame.
 */
const PAGE_OBJECT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-same-origin";

/** The Content-Security-Policy the proxy sends with an object of `contentType`. */
export function objectPolicyOf(contentType: string): string {
  return contentType.startsWith('text/html') ? PAGE_OBJECT_CSP : OBJECT_CSP;
}

/** Where the proxy serves HTML as a page: the retrain reports' bucket and prefix (`objects.retrainReports`). */
export interface PagePlace {
  bucket: string;
  prefix: string;
}

/** The content type the proxy sends for an object, from its key's extension; HTML is a page only under `pages`. */
export function contentTypeOf(ref: ObjectRef | string, pages?: PagePlace): string {
  const { bucket, key } = typeof ref === 'string' ? { bucket: undefined, key: ref } : ref;
  const extension = /\.([A-Za-z0-9]+)$/.exec(key)?.[1]?.toLowerCase() ?? '';
  const page = pages !== undefined && bucket === pages.bucket && key.startsWith(pages.prefix) ? PAGE_TYPES[extension] : undefined;
  return page ?? CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

/**
 * The object a proxy path names, when the allow-list lets the browser read it: the bucket must be
 * listed and the key start with one of its prefixes, with no empty, `.` or `..` segment and no
 * control character or backslash. Throws a 403 `BUCKET_NOT_ALLOWED` / `OBJECT_NOT_ALLOWED`
 * otherwise (the same answer whether or not such an object exists).
 */
export function allowedObject(pathname: string, allow: readonly ObjectAllowance[]): ObjectRef {
  if (!pathname.startsWith(OBJECTS_PATH)) throw new HttpProblem('NOT_FOUND', 404, `${pathname} is not an object path: use ${OBJECTS_PATH}<bucket>/<key>`);
  const [rawBucket = '', ...rawKey] = pathname.slice(OBJECTS_PATH.length).split('/');
  let bucket: string;
  let segments: string[];
  try {
    bucket = decodeURIComponent(rawBucket);
    // Each segment is decoded on its own; an encoded "/" inside one is refused below, not split on.
    segments = rawKey.map((segment) => decodeURIComponent(segment));
  } catch {
    throw new HttpProblem('OBJECT_NOT_ALLOWED', 403, 'the object path is not valid percent-encoding');
  }
  const allowance = allow.find((entry) => entry.bucket === bucket);
  if (allowance === undefined) {
    throw new HttpProblem('BUCKET_NOT_ALLOWED', 403, `bucket "${bucket}" is not one the dashboard serves: it serves ${allow.map((a) => a.bucket).join(', ')}`);
  }
  const badSegment = segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || [...s].some((ch) => ch < ' ' || ch === '\u007f' || ch === '\\'));
  const key = segments.join('/');
  if (segments.length === 0 || badSegment || key.length > 1024 || !allowance.prefixes.some((prefix) => key.startsWith(prefix))) {
    throw new HttpProblem(
      'OBJECT_NOT_ALLOWED',
      403,
      `the dashboard serves only keys under ${allowance.prefixes.map((p) => `${bucket}/${p}`).join(', ')} (no empty, "." or ".." segments)`,
    );
  }
  return { bucket, key };
}
