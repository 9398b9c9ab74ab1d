import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { HttpProblem } from './problem.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** Same-origin only: the page's own scripts and styles, images from the page and the object proxy. */
export const PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export interface StaticFile {
  body: Buffer;
  contentType: string;
  /** Vite's hashed assets never change under their name. */
  immutable: boolean;
}

/**
 * A file of the built page: `/` is `index.html`, `/assets/…` Vite's hashed bundles. Anything that
 * would leave `root` is not found; `PAGE_NOT_BUILT` (503) when the page was never built.
 */
export async function readStatic(root: string, pathname: string): Promise<StaticFile> {
  const relative = pathname === '/' ? 'index.html' : pathname.slice(1);
  const path = normalize(join(root, relative));
  if (!path.startsWith(normalize(root) + sep) || !/^(index\.html|favicon\.svg|assets\/[A-Za-z0-9._-]+)$/.test(relative)) {
    throw new HttpProblem('NOT_FOUND', 404, `no page file at ${pathname}: the dashboard is at /`);
  }
  try {
    return { body: await readFile(path), contentType: TYPES[extname(path)] ?? 'application/octet-stream', immutable: relative.startsWith('assets/') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (relative === 'index.html') {
      throw new HttpProblem('PAGE_NOT_BUILT', 503, `the page is not built in ${root}: run \`pnpm --filter @loomwatch/dashboard build\` (or pnpm build)`);
    }
    throw new HttpProblem('NOT_FOUND', 404, `no page file at ${pathname}: reload the dashboard at /`);
  }
}
