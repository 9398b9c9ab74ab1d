/**
 * The parent version in the loop's scratch registry, where the workers load it and the retrainer
 * writes the candidate (so nothing lands in models/registry): already there; else copied from
 * `from` (default models/registry) when it is there; else fit by `models/lw
 * fit-patchcore-fabrics` on the split, its output shown line by line as progress.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LoomwatchError } from '@loomwatch/contracts';
import { DEFAULT_REGISTRY_ROOT, parseModelRef } from '@loomwatch/model-registry';
import { REPO_ROOT } from '@loomwatch/testkit';

export const LW = join(REPO_ROOT, 'models/lw');

/** `name@version` split, refusing anything else in one line. */
export function parentParts(parent: string): { name: string; version: string } {
  const parts = parseModelRef(parent);
  if (parts.version === undefined) throw new LoomwatchError('CONFIG_INVALID', `--parent ${parent}: name a version, e.g. patchcore-aitex@1.2.0`);
  return { name: parts.name, version: parts.version };
}

/** Where the parent came from this run. */
export type ParentSource = 'scratch' | 'copied' | 'fit';

/** Makes sure `parent` is in `registry`; `log` gets one line per step (and the fit's own lines). */
export async function ensureParent(parent: string, registry: string, split: string, log: (line: string) => void, from = DEFAULT_REGISTRY_ROOT): Promise<ParentSource> {
  const { name, version } = parentParts(parent);
  const target = join(registry, name, version);
  if (existsSync(join(target, 'model.json'))) return 'scratch';
  const released = join(from, name, version);
  if (existsSync(join(released, 'model.json'))) {
    mkdirSync(join(registry, name), { recursive: true });
    cpSync(released, target, { recursive: true });
    log(`parent ${parent}: copied from ${from} into ${registry}`);
    return 'copied';
  }
  log(`parent ${parent}: not in ${registry} nor ${from} — fitting it on ${split} (models/lw fit-patchcore-fabrics)`);
  const args = ['fit-patchcore-fabrics', '--name', name, '--version', version, '--split', split, '--registry', registry, '--no-mlflow'];
  const code = await runShowing(LW, args, (line) => log(`  fit: ${line}`));
  if (code !== 0 || !existsSync(join(target, 'model.json'))) throw new LoomwatchError('INTERNAL', `models/lw ${args.join(' ')} failed (exit ${code}): its last lines are above`);
  return 'fit';
}

/** Runs a command, handing each line of its stdout and stderr to `line`; resolves with its exit code. */
export function runShowing(command: string, args: readonly string[], line: (text: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (text) => text.trim() !== '' && line(text));
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
}
