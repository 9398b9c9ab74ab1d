/**
 * A candidate already in the registry: two requests (two fabrics) refit from the same snapshot and
 * parent name the same version, and a refit redone after a restart finds its own version written.
 * A version whose card's lineage is that parent and snapshot is that candidate, passed or refused
 * as its card's gate said; a version of the same name from elsewhere is refused, never overwritten.
 */
import { LoomwatchError, toLoomwatchError } from '@loomwatch/contracts';
import { readModelCard, resolveModel } from '@loomwatch/model-registry';
import type { RefitOutcome } from './runner.js';

/** The registered candidate's outcome, or undefined when `version` (`name@version`) is not in the registry. */
export async function registeredCandidate(registryRoot: string, input: { parent: string; snapshot: string; version: string }): Promise<RefitOutcome | undefined> {
  let location;
  try {
    location = await resolveModel(input.version, registryRoot);
  } catch (err) {
    if (toLoomwatchError(err).code === 'MODEL_NOT_FOUND') return undefined;
    throw err;
  }
  const card = await readModelCard(location);
  const lineage = card.lineage;
  const parent = lineage === undefined ? undefined : `${lineage.parent.name}@${lineage.parent.version}`;
  if (lineage === undefined || parent !== input.parent || lineage.snapshot.id !== input.snapshot) {
    const from = lineage === undefined ? 'no lineage' : `parent ${parent}, snapshot ${lineage.snapshot.id}`;
    throw new LoomwatchError(
      'RETRAIN_INVALID',
      `${input.version} is already in the registry ${registryRoot} with ${from}, not refit from ${input.parent} on snapshot ${input.snapshot}: versions are immutable — move that version away or promote another parent`,
    );
  }
  return lineage.gate.passed ? { passed: true } : { passed: false, reasons: lineage.gate.reasons.length > 0 ? lineage.gate.reasons : ['the gate refused the candidate'] };
}
