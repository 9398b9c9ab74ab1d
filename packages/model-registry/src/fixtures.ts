import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_REGISTRY_ROOT } from './registry.js';

/** The random-weight DRAEM the model pipeline exports for engine tests (never the trained one). */
export const RANDOM_MODEL = 'draem-random';
export const RANDOM_MODEL_DIR = join(DEFAULT_REGISTRY_ROOT, RANDOM_MODEL, '0.0.1');

type Json = Record<string, unknown>;

/**
 * A throw-away registry `<tmp>/<name>/<version>/` holding a copy of the random model, its card
 * passed through `patchCard` and its ONNX bytes through `patchOnnx` (the card's checksum is
 * updated to match unless `keepChecksum`). Returns the registry root and a cleanup function.
 */
export function copyRandomModel(
  options: { patchCard?: (card: Json) => void; patchOnnx?: (bytes: Buffer) => void; keepChecksum?: boolean; production?: boolean } = {},
): { root: string; dir: string; card: Json; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'loomwatch-registry-'));
  const card = JSON.parse(readFileSync(join(RANDOM_MODEL_DIR, 'model.json'), 'utf8')) as Json & { name: string; version: string; onnx: Json };
  const dir = join(root, card.name, card.version);
  cpSync(RANDOM_MODEL_DIR, dir, { recursive: true });
  const bytes = readFileSync(join(dir, 'model.onnx'));
  options.patchOnnx?.(bytes);
  writeFileSync(join(dir, 'model.onnx'), bytes);
  if (options.keepChecksum !== true) {
    card.onnx.sha256 = createHash('sha256').update(bytes).digest('hex');
    card.onnx.bytes = bytes.length;
  }
  options.patchCard?.(card);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(card, null, 2));
  if (options.production !== false) {
    writeFileSync(join(root, card.name, 'production.json'), JSON.stringify({ version: card.version, promotedAt: '2026-01-01T00:00:00Z' }));
  }
  return { root, dir, card, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * A throw-away registry holding several versions of the random model (same ONNX, each card
 * passed through its own `patchCard`, e.g. another image threshold so versions disagree), with
 * `production` marked. For tests of version switching, shadow, canary and replay.
 */
export function randomModelVersions(
  versions: readonly { version: string; patchCard?: (card: Json) => void }[],
  production?: string,
): { root: string; name: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'loomwatch-registry-'));
  for (const { version, patchCard } of versions) {
    const card = JSON.parse(readFileSync(join(RANDOM_MODEL_DIR, 'model.json'), 'utf8')) as Json;
    card['version'] = version;
    patchCard?.(card);
    const dir = join(root, RANDOM_MODEL, version);
    cpSync(RANDOM_MODEL_DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'model.json'), JSON.stringify(card, null, 2));
  }
  if (production !== undefined) {
    writeFileSync(join(root, RANDOM_MODEL, 'production.json'), JSON.stringify({ version: production, promotedAt: '2026-01-01T00:00:00Z' }));
  }
  return { root, name: RANDOM_MODEL, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * A card's `quantization` block saying the version is an INT8 variant of `parent` that runs on a
 * VNNI CPU (1.5× faster, `aurocLoss` lost, 0.002 unless given): what `--precision auto` looks for.
 */
export function int8Quantization(parent: string, aurocLoss = 0.002): Json {
  return {
    parent,
    precision: 'int8',
    method: 'test',
    calibration: { method: 'percentile', tiles: 8, source: 'test' },
    fp32Nodes: [],
    aurocLoss,
    pixelAurocLoss: null,
    msPerFrame: { int8: 100, fp32: 150 },
    speedup: 1.5,
    cpuFlags: ['avx512_vnni'],
  };
}
