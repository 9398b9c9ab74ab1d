import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './infra.js';

const TSC = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');

/**
 * Compiles every workspace package to its dist/ (`tsc -b tsconfig.build.json`), so tests can run
 * services as they are deployed. Incremental: when nothing changed it only compares timestamps.
 */
export function buildWorkspace(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [TSC, '-b', 'tsconfig.build.json'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`the workspace build (tsc -b tsconfig.build.json) failed:\n${stdout}${stderr}`, { cause: err }));
    });
  });
}

/**
 * The absolute path of a compiled entry point, e.g. `services/inference-worker/dist/main.js`,
 * refusing one that is not built (the integration projects' global setup builds the workspace;
 * elsewhere `pnpm build`).
 */
export function builtEntry(entry: string): string {
  const path = join(REPO_ROOT, entry);
  if (!existsSync(path)) throw new Error(`${entry} is not built: run \`pnpm build\` first`);
  return path;
}
