import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { REPO_ROOT } from './infra.js';

export interface AitexFrame {
  path: string;
  /** `NNNN_DDD_FF` */
  name: string;
  defectCode: string;
  fabricCode: string;
  /** The roll folder for normal frames, undefined for defect frames. */
  roll: string | undefined;
}

/** The shared AITEX dataset: `AITEX_DIR`, or `../shared/datasets/aitex` beside the repo. */
export function aitexDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['AITEX_DIR'] ?? resolve(REPO_ROOT, '../shared/datasets/aitex');
}

function describeFrame(path: string, roll: string | undefined): AitexFrame {
  const name = basename(path, '.png');
  const [, defectCode = '000', fabricCode = '00'] = name.split('_');
  return { path, name, defectCode, fabricCode, roll };
}

/** Every frame of the dataset, sorted by name: normal frames first, then defect frames. */
export function aitexFrames(dir = aitexDir()): AitexFrame[] {
  const normal = readdirSync(join(dir, 'normal'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((roll) =>
      readdirSync(join(dir, 'normal', roll.name))
        .filter((file) => file.endsWith('.png'))
        .map((file) => describeFrame(join(dir, 'normal', roll.name, file), roll.name)),
    );
  const defect = readdirSync(join(dir, 'defect'))
    .filter((file) => file.endsWith('.png'))
    .map((file) => describeFrame(join(dir, 'defect', file), undefined));
  const byName = (a: AitexFrame, b: AitexFrame): number => a.name.localeCompare(b.name);
  return [...normal.sort(byName), ...defect.sort(byName)];
}
