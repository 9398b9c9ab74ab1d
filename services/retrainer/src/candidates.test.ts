import { afterAll, describe, expect, it } from 'vitest';
import { RANDOM_MODEL, randomModelVersions } from '@loomwatch/model-registry/fixtures';
import { registeredCandidate } from './candidates.js';

const SNAPSHOT = 'a'.repeat(64);

function lineage(passed: boolean, snapshot = SNAPSHOT): Record<string, unknown> {
  const counts = { parent: 3, candidate: passed ? 1 : 3, frames: 8 };
  return {
    parent: { name: RANDOM_MODEL, version: '0.0.1' },
    snapshot: { id: snapshot },
    method: 'reviewed normals of the fit half into the banks',
    counts: { reviewed: 20, bankNormals: 8, heldOutNormals: 8, defects: 4, heldOutDefects: 2, patchesAdded: 1300 },
    gate: {
      passed,
      reasons: passed ? [] : ['held-out false alarms 3 not fewer than the parent\'s 3'],
      validation: { parent: 0.93, candidate: 0.931, tolerance: 0.01, frames: 87 },
      heldOut: { falseAlarms: counts, detected: { parent: 2, candidate: 2, frames: 2 } },
    },
  };
}

// Versions of one registry: the parent, a candidate that passed, one refused, one of another snapshot, one without lineage.
const registry = randomModelVersions([
  { version: '0.0.1' },
  { version: '0.0.1-refit.aaaaaaaa', patchCard: (card) => void (card['lineage'] = lineage(true)) },
  { version: '0.0.1-refit.bbbbbbbb', patchCard: (card) => void (card['lineage'] = lineage(false)) },
  { version: '0.0.1-refit.cccccccc', patchCard: (card) => void (card['lineage'] = lineage(true, 'c'.repeat(64))) },
  { version: '0.0.1-refit.dddddddd' },
]);
afterAll(() => registry.cleanup());

const ask = (version: string, snapshot = SNAPSHOT) => registeredCandidate(registry.root, { parent: `${RANDOM_MODEL}@0.0.1`, snapshot, version: `${RANDOM_MODEL}@${version}` });

describe('a candidate already in the registry', () => {
  it('is not there: the refit runs', async () => {
    await expect(ask('0.0.1-refit.eeeeeeee')).resolves.toBeUndefined();
  });

  it('of the same parent and snapshot is the candidate, passed or refused as its card\'s gate says', async () => {
    await expect(ask('0.0.1-refit.aaaaaaaa')).resolves.toEqual({ passed: true });
    await expect(ask('0.0.1-refit.bbbbbbbb')).resolves.toEqual({ passed: false, reasons: ['held-out false alarms 3 not fewer than the parent\'s 3'] });
  });

  it('of another snapshot, or without lineage, is refused: versions are immutable', async () => {
    await expect(ask('0.0.1-refit.cccccccc')).rejects.toMatchObject({ code: 'RETRAIN_INVALID', message: expect.stringContaining(`snapshot ${'c'.repeat(64)}, not refit from ${RANDOM_MODEL}@0.0.1 on snapshot ${SNAPSHOT}`) });
    await expect(ask('0.0.1-refit.dddddddd')).rejects.toMatchObject({ code: 'RETRAIN_INVALID', message: expect.stringContaining('with no lineage') });
  });
});
