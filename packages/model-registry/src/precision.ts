import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LoomwatchError, type ModelCard, type Precision } from '@loomwatch/contracts';
import { readModelCard, resolveModel, type ModelSource } from './registry.js';

/** Which precision serves a model version (the contracts' enum, as a deployment pins it): see `choosePrecision`. */
export { Precision } from '@loomwatch/contracts';

/**
 * INT8 variants (cards with `quantization`, beside their FP32 parent in the registry) are faster
 * only where the CPU has VNNI, the int8 dot-product instructions: on AVX2 alone onnxruntime's INT8
 * kernels measured no faster than FP32. A variant is served in its parent's place only when its card
 * records a validation image-AUROC loss of at most this much.
 */
export const MAX_INT8_AUROC_LOSS = 0.01;

/** The CPU flags that decide INT8 speed, reported in `/metrics` as seen. */
export const REPORTED_CPU_FLAGS = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8'] as const;
const VNNI_FLAGS: readonly string[] = ['avx512_vnni', 'avx_vnni'];

/** The reported flags present in a Linux `/proc/cpuinfo` text (its first `flags` line), in `REPORTED_CPU_FLAGS` order. */
export function cpuFlagsFromCpuinfo(cpuinfo: string): string[] {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1];
  const present = new Set(line?.trim().split(/\s+/) ?? []);
  return REPORTED_CPU_FLAGS.filter((flag) => present.has(flag));
}

export function hasVnni(flags: readonly string[]): boolean {
  return flags.some((flag) => VNNI_FLAGS.includes(flag));
}

/** This machine's reported CPU flags; none where `/proc/cpuinfo` cannot be read (not Linux). */
export async function readCpuFlags(path = '/proc/cpuinfo'): Promise<string[]> {
  try {
    return cpuFlagsFromCpuinfo(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
}

/** An INT8 variant as its card records it. */
export interface Int8Variant {
  version: string;
  /** Parent's validation image AUROC minus the variant's. */
  aurocLoss: number;
  speedup: number;
}

/** Which version runs in place of a requested FP32 version, and why. */
export interface PrecisionChoice {
  precision: 'fp32' | 'int8';
  /** The version that runs: the requested one, or its INT8 variant. */
  version: string;
  reason: string;
}

/**
 * The rule, pure: `fp32` serves the version asked for; `int8` its variant with the smallest recorded
 * loss (MODEL_NOT_FOUND when it has none); `auto` that variant only when the CPU has VNNI, the loss
 * is at most `maxAurocLoss` and its card measured it faster than FP32 (speed-up > 1), else FP32.
 */
export function choosePrecision(input: {
  mode: Precision;
  cpuFlags: readonly string[];
  version: string;
  variants: readonly Int8Variant[];
  maxAurocLoss?: number;
}): PrecisionChoice {
  const { mode, cpuFlags, version, variants, maxAurocLoss = MAX_INT8_AUROC_LOSS } = input;
  const best = [...variants].sort((a, b) => a.aurocLoss - b.aurocLoss || b.speedup - a.speedup)[0];
  const fp32 = (reason: string): PrecisionChoice => ({ precision: 'fp32', version, reason });
  switch (mode) {
    case 'fp32':
      return fp32('precision forced to fp32');
    case 'int8':
      if (best === undefined) {
        throw new LoomwatchError('MODEL_NOT_FOUND', `precision is forced to int8 but version ${version} has no INT8 variant in the registry: quantise it (models/lw quantize) or use precision auto`);
      }
      return { precision: 'int8', version: best.version, reason: `precision forced to int8: ${best.version} (image AUROC loss ${formatLoss(best.aurocLoss)})` };
    case 'auto':
      if (best === undefined) return fp32(`${version} has no INT8 variant`);
      if (!hasVnni(cpuFlags)) return fp32(`the CPU has no VNNI (flags seen: ${cpuFlags.join(' ') || 'none'}), where INT8 is not faster`);
      if (best.aurocLoss > maxAurocLoss) return fp32(`its best INT8 variant ${best.version} loses ${formatLoss(best.aurocLoss)} image AUROC, more than ${maxAurocLoss}`);
      if (best.speedup <= 1) return fp32(`its INT8 variant ${best.version} measured no faster than FP32 (×${best.speedup.toFixed(2)})`);
      return { precision: 'int8', version: best.version, reason: `the CPU has VNNI and ${best.version} loses ${formatLoss(best.aurocLoss)} image AUROC (≤ ${maxAurocLoss}), ×${best.speedup.toFixed(2)} measured` };
  }
}

function formatLoss(loss: number): string {
  return loss.toFixed(4);
}

/** The INT8 variants of `card`'s version among its registry siblings (cards naming it as `quantization.parent`). */
async function int8Variants(versionDir: string, card: ModelCard): Promise<(Int8Variant & { dir: string })[]> {
  const nameDir = dirname(versionDir);
  const entries = await readdir(nameDir, { withFileTypes: true }).catch(() => []);
  const variants: (Int8Variant & { dir: string })[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === basename(versionDir)) continue;
    // A sibling whose card is broken or missing is no variant; it never stops the parent from loading.
    const dir = join(nameDir, entry.name);
    const sibling = await readModelCard({ dir }).catch(() => undefined);
    const q = sibling?.quantization;
    if (sibling === undefined || q === undefined || sibling.name !== card.name || q.parent !== card.version) continue;
    variants.push({ version: sibling.version, aurocLoss: q.aurocLoss, speedup: q.speedup, dir });
  }
  return variants;
}

/** What to load for a model reference: the directory of the version chosen, and the choice. */
export interface PrecisionSelection extends PrecisionChoice {
  name: string;
  /** The version the reference named (the FP32 parent when a variant was chosen). */
  requested: string;
  dir: string;
  cpuFlags: readonly string[];
}

/**
 * Resolves `ref` (as `resolveModel`) and picks the version to run by `choosePrecision`. A reference
 * to a version that is itself a quantised variant runs as named: the rule chooses between a parent
 * and its variants only.
 */
export async function selectPrecision(ref: ModelSource, options: { registryRoot: string; precision: Precision; cpuFlags: readonly string[] }): Promise<PrecisionSelection> {
  const location = await resolveModel(ref, options.registryRoot);
  const card = await readModelCard(location);
  const base = { name: card.name, requested: card.version, cpuFlags: options.cpuFlags };
  if (card.quantization !== undefined) {
    return { ...base, dir: location.dir, precision: card.quantization.precision, version: card.version, reason: `${card.version} was named, an INT8 variant of ${card.quantization.parent}` };
  }
  const variants = await int8Variants(location.dir, card);
  const choice = choosePrecision({ mode: options.precision, cpuFlags: options.cpuFlags, version: card.version, variants });
  const dir = variants.find((v) => v.version === choice.version)?.dir ?? location.dir;
  return { ...base, ...choice, dir };
}
