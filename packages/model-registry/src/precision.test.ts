import { afterEach, describe, expect, it } from 'vitest';
import { int8Quantization, randomModelVersions } from './fixtures.js';
import { choosePrecision, cpuFlagsFromCpuinfo, hasVnni, selectPrecision, type Int8Variant } from './precision.js';

const VNNI = ['avx2', 'avx512f', 'avx512_vnni'];
const AVX2 = ['avx2'];
const good: Int8Variant = { version: '1.1.0-int8.2', aurocLoss: 0.004, speedup: 1.6 };
const lossy: Int8Variant = { version: '1.1.0-int8', aurocLoss: 0.048, speedup: 1.8 };

describe('cpuFlagsFromCpuinfo', () => {
  it('finds the vector flags of the first flags line of /proc/cpuinfo, in a fixed order', () => {
    const cpuinfo = 'processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx512_vnni avx2 avx512f avx512bw\nbugs\t\t: none\n\nprocessor\t: 1\nflags\t\t: fpu\n';
    expect(cpuFlagsFromCpuinfo(cpuinfo)).toEqual(['avx2', 'avx512f', 'avx512_vnni']);
  });

  it('sees no flag in a text without a flags line (not Linux x86)', () => {
    expect(cpuFlagsFromCpuinfo('processor : 0\nFeatures : fp asimd\n')).toEqual([]);
  });

  it('matches whole flags only', () => {
    expect(cpuFlagsFromCpuinfo('flags : avx2x avx_vnni_int8 avx_vnni\n')).toEqual(['avx_vnni']);
  });
});

describe('hasVnni', () => {
  it('counts AVX-512 VNNI and AVX-VNNI, not AVX2 or AVX-512 without VNNI', () => {
    expect(hasVnni(['avx2', 'avx512_vnni'])).toBe(true);
    expect(hasVnni(['avx2', 'avx_vnni'])).toBe(true);
    expect(hasVnni(['avx2', 'avx512f'])).toBe(false);
    expect(hasVnni([])).toBe(false);
  });
});

describe('choosePrecision', () => {
  it('serves the INT8 variant on a VNNI CPU when its recorded loss is within 0.01', () => {
    expect(choosePrecision({ mode: 'auto', cpuFlags: VNNI, version: '1.1.0', variants: [good] })).toMatchObject({ precision: 'int8', version: '1.1.0-int8.2' });
  });

  it('stays on FP32 on a CPU without VNNI, naming the flags it saw', () => {
    const choice = choosePrecision({ mode: 'auto', cpuFlags: AVX2, version: '1.1.0', variants: [good] });
    expect(choice).toMatchObject({ precision: 'fp32', version: '1.1.0' });
    expect(choice.reason).toContain('avx2');
  });

  it('stays on FP32 when the variant lost more than 0.01 image AUROC', () => {
    const choice = choosePrecision({ mode: 'auto', cpuFlags: VNNI, version: '1.1.0', variants: [lossy] });
    expect(choice).toMatchObject({ precision: 'fp32', version: '1.1.0' });
    expect(choice.reason).toContain('0.0480');
  });

  it('takes a loss of exactly the limit, and the variant with the smallest loss among several', () => {
    const edge = { version: '1.1.0-int8.3', aurocLoss: 0.01, speedup: 2 };
    expect(choosePrecision({ mode: 'auto', cpuFlags: VNNI, version: '1.1.0', variants: [edge] }).version).toBe('1.1.0-int8.3');
    expect(choosePrecision({ mode: 'auto', cpuFlags: VNNI, version: '1.1.0', variants: [lossy, edge, good] }).version).toBe('1.1.0-int8.2');
  });

  it('stays on FP32 when the variant measured no faster than FP32', () => {
    const slow = { version: '1.1.0-int8.4', aurocLoss: 0, speedup: 0.9 };
    expect(choosePrecision({ mode: 'auto', cpuFlags: VNNI, version: '1.1.0', variants: [slow] })).toMatchObject({ precision: 'fp32', version: '1.1.0' });
  });

  it('stays on FP32 for a version without a variant', () => {
    expect(choosePrecision({ mode: 'auto', cpuFlags: VNNI, version: '1.1.0', variants: [] })).toMatchObject({ precision: 'fp32', version: '1.1.0' });
  });

  it('obeys a forced precision whatever the CPU and the loss', () => {
    expect(choosePrecision({ mode: 'fp32', cpuFlags: VNNI, version: '1.1.0', variants: [good] })).toMatchObject({ precision: 'fp32', version: '1.1.0' });
    expect(choosePrecision({ mode: 'int8', cpuFlags: AVX2, version: '1.1.0', variants: [lossy] })).toMatchObject({ precision: 'int8', version: '1.1.0-int8' });
  });

  it('refuses forced INT8 for a version without a variant', () => {
    expect(() => choosePrecision({ mode: 'int8', cpuFlags: VNNI, version: '1.1.0', variants: [] })).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
  });
});

describe('selectPrecision', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  /** A registry with FP32 1.0.0 (production), a variant of it with `loss`, and an unrelated 2.0.0. */
  function registry(loss: number): { root: string; name: string } {
    const reg = randomModelVersions(
      [{ version: '1.0.0' }, { version: '1.0.0-int8', patchCard: (card) => void (card['quantization'] = int8Quantization('1.0.0', loss)) }, { version: '2.0.0' }],
      '1.0.0',
    );
    cleanups.push(reg.cleanup);
    return reg;
  }

  it('loads the sibling variant for the production version on a VNNI CPU', async () => {
    const { root, name } = registry(0.005);
    const chosen = await selectPrecision(name, { registryRoot: root, precision: 'auto', cpuFlags: VNNI });
    expect(chosen).toMatchObject({ name, requested: '1.0.0', version: '1.0.0-int8', precision: 'int8' });
    expect(chosen.dir).toBe(`${root}/${name}/1.0.0-int8`);
  });

  it('keeps the FP32 version when the recorded loss is too large, and a version without a variant as it is', async () => {
    const { root, name } = registry(0.02);
    expect(await selectPrecision(name, { registryRoot: root, precision: 'auto', cpuFlags: VNNI })).toMatchObject({ version: '1.0.0', precision: 'fp32', dir: `${root}/${name}/1.0.0` });
    expect(await selectPrecision(`${name}@2.0.0`, { registryRoot: root, precision: 'int8', cpuFlags: VNNI }).catch((e: unknown) => e)).toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('runs a named variant as named, whatever the switch says', async () => {
    const { root, name } = registry(0.02);
    expect(await selectPrecision(`${name}@1.0.0-int8`, { registryRoot: root, precision: 'fp32', cpuFlags: AVX2 })).toMatchObject({ version: '1.0.0-int8', precision: 'int8' });
  });
});
