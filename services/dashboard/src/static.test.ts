import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from './problem.js';
import { readStatic } from './static.js';

describe('the page files', () => {
  const root = mkdtempSync(join(tmpdir(), 'dashboard-public-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<lw-app></lw-app>');
  writeFileSync(join(root, 'assets/index-abc.js'), 'export {}');
  writeFileSync(join(tmpdir(), 'outside.txt'), 'secret');

  const code = (path: string, dir = root) =>
    readStatic(dir, path).then(
      () => 'served',
      (err: unknown) => (err instanceof HttpProblem ? `${err.status} ${err.code}` : 'other'),
    );

  it('serves index.html at / and the hashed assets as immutable', async () => {
    expect((await readStatic(root, '/')).contentType).toBe('text/html; charset=utf-8');
    const asset = await readStatic(root, '/assets/index-abc.js');
    expect(asset).toMatchObject({ contentType: 'text/javascript; charset=utf-8', immutable: true });
  });

  it('serves nothing outside the page, and says how to build a page that is missing', async () => {
    expect(await code('/../outside.txt')).toBe('404 NOT_FOUND');
    expect(await code('/assets/../../outside.txt')).toBe('404 NOT_FOUND');
    expect(await code('/package.json')).toBe('404 NOT_FOUND');
    expect(await code('/assets/missing.js')).toBe('404 NOT_FOUND');
    expect(await code('/', join(root, 'nowhere'))).toBe('503 PAGE_NOT_BUILT');
  });
});
