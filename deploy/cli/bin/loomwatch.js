#!/usr/bin/env node
/**
 * The `loomwatch` command (this package's bin; `pnpm loomwatch` runs it too). It compiles the
 * workspace (`tsc -b tsconfig.build.json`) only when a project's sources are newer than its last
 * build — tsc itself takes ~0.5–1 s to find that nothing changed — then runs the compiled CLI in
 * this process, so a signal sent to `loomwatch` reaches the command it runs, once.
 * Plain JavaScript: it runs before anything is compiled.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** The Node major the commands need (package.json's engines); an older one fails deep inside a client. */
const NODE_MAJOR = 24;
if (Number(process.versions.node.split('.')[0]) < NODE_MAJOR) {
  process.stderr.write(`loomwatch: needs Node ${NODE_MAJOR} or newer, this is ${process.version}: put .loomwatch/tools/node/bin (make install unpacks Node ${NODE_MAJOR} there) first on PATH\n`);
  process.exit(1);
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The newest change under `dir`, directories included (deleting a file changes its directory); tests are not built, so they do not count. */
function newestChange(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.test.ts')) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Whether every project of tsconfig.build.json was built after its `src/`, its tsconfig.json and
 * tsconfig.base.json last changed: what `tsc -b` compares too (it rewrites a project's tsbuildinfo
 * whenever one of them is newer), so a stale or missing build is never skipped.
 */
function built() {
  const projects = [...readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8').matchAll(/"path":\s*"([^"]+)"/g)].map((match) => match[1]);
  const base = statSync(join(ROOT, 'tsconfig.base.json')).mtimeMs;
  try {
    return projects.every((project) => {
      const dir = join(ROOT, project);
      const buildInfo = statSync(join(dir, 'dist/tsconfig.tsbuildinfo')).mtimeMs;
      return buildInfo >= Math.max(base, statSync(join(dir, 'tsconfig.json')).mtimeMs, newestChange(join(dir, 'src')));
    });
  } catch {
    return false;
  }
}

if (!built()) {
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    process.stderr.write('loomwatch: the workspace build (tsc -b tsconfig.build.json) failed: see above\n');
    process.exit(1);
  }
}
await import('../dist/loomwatch.js');
