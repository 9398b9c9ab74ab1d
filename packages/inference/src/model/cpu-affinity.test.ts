import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelCard } from '@loomwatch/contracts';
import { RANDOM_MODEL_DIR } from '@loomwatch/model-registry/fixtures';
import { allowedCpus, formatCpuList, parseCpuList, planCpus } from './cpu-affinity.js';
import { OnnxModel } from './onnx-model.js';

describe('CPU lists', () => {
  it('reads and writes them as taskset does', () => {
    expect(parseCpuList('0-3,6')).toEqual([0, 1, 2, 3, 6]);
    expect(parseCpuList(' 5 ')).toEqual([5]);
    expect(parseCpuList('2,0-1,1')).toEqual([0, 1, 2]);
    expect(formatCpuList([6, 0, 1, 2, 3])).toBe('0-3,6');
    expect(formatCpuList([1, 3, 5])).toBe('1,3,5');
  });

  it('refuses what is not one', () => {
    for (const text of ['', 'a', '3-1', '1-', '1,,2', '-1']) expect(parseCpuList(text)).toBeUndefined();
  });
});

describe('planCpus', () => {
  it('gives the model its CPUs and the rest the others', () => {
    expect(planCpus('1-2', [0, 1, 2, 3])).toEqual({ model: [1, 2], rest: [0, 3] });
  });

  it('gives the model every CPU but the first with auto', () => {
    expect(planCpus('auto', [2, 3, 4, 5])).toEqual({ model: [3, 4, 5], rest: [2] });
    expect(() => planCpus('auto', [0])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('needs at least 2 CPUs') as string }));
  });

  it('says which CPU the process may not use', () => {
    expect(() => planCpus('2-4', [0, 1, 2, 3])).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: 'inference.modelCpus "2-4" names CPU 4, which this process may not use (it may use 0-3): choose the model\'s CPUs among those' }),
    );
  });

  it('keeps a CPU for the rest', () => {
    expect(() => planCpus('0-1', [0, 1])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('leave at least one for decoding') as string }));
  });

  it('refuses a list that does not parse', () => {
    expect(() => planCpus('first', [0, 1])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('is not a CPU list') as string }));
  });
});

/** Each thread of this process → its CPU list, from /proc. */
function threadCpuLists(): Map<number, string> {
  const lists = new Map<number, string>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'))?.[1];
      if (line !== undefined) lists.set(Number(tid), line.trim());
    } catch {
      // the thread ended meanwhile
    }
  }
  return lists;
}

const cpus = process.platform === 'linux' ? allowedCpus() : [];

describe.skipIf(cpus.length < 2)('a model with inference.modelCpus (this process, real threads)', () => {
  const everything = formatCpuList(cpus);
  afterEach(() => {
    // The test runner's process gets all its CPUs back.
    execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', everything, String(process.pid)], { stdio: 'ignore' });
  });

  it("runs the model's threads on its CPUs and every other thread on the rest", async () => {
    const card = ModelCard.parse(JSON.parse(await readFile(join(RANDOM_MODEL_DIR, 'model.json'), 'utf8')));
    const bytes = await readFile(join(RANDOM_MODEL_DIR, card.onnx.file));
    const last = cpus[cpus.length - 1] ?? 0;
    const model = await OnnxModel.create(bytes, card, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'], modelCpus: String(last) });
    try {
      const lists = [...threadCpuLists().values()];
      const rest = formatCpuList(cpus.filter((cpu) => cpu !== last));
      expect(lists.filter((list) => list === String(last)).length).toBeGreaterThanOrEqual(1);
      expect(lists.filter((list) => list !== String(last) && list !== rest)).toEqual([]);
      expect(threadCpuLists().get(process.pid)).toBe(rest);
      const tile = card.input.tileSize;
      const out = await model.run(new Float32Array(tile * tile), 1);
      expect(out.length).toBe(card.output.channels * tile * tile);
    } finally {
      await model.close();
    }
  });
});
