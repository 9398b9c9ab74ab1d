/**
 * The reference profiles of the model versions whose verdicts arrive, read once per version from the
 * model registry on disk. A quantised variant without a profile of its own is judged against its
 * parent's: the deployed version is the parent, and the variant is calibrated to decide alike.
 */
import type { ModelCard, ModelRef } from '@loomwatch/contracts';
import { modelRefParts, readModelCard, resolveModel } from '@loomwatch/model-registry';
import type { ReferenceLookup } from './monitor.js';

export class ReferenceProfiles {
  private readonly cache = new Map<string, Promise<ReferenceLookup>>();

  constructor(private readonly registryRoot: string) {}

  /** The reference for a verdict's model; `missing` says why there is none (cached like a hit). */
  lookup(model: ModelRef): Promise<ReferenceLookup> {
    const key = `${model.name}@${model.version}`;
    let found = this.cache.get(key);
    if (found === undefined) {
      found = this.load(model.name, model.version, 0);
      this.cache.set(key, found);
    }
    return found;
  }

  private async load(name: string, version: string, depth: number): Promise<ReferenceLookup> {
    // The registry's name rule: a verdict's model reference never reaches the file system as a path.
    const ref = `${name}@${version}`;
    if (modelRefParts(ref) === undefined) return { missing: `"${ref}" is not a registry name` };
    let card: ModelCard;
    try {
      card = await readModelCard(await resolveModel(ref, this.registryRoot));
    } catch (err) {
      return { missing: err instanceof Error ? err.message : String(err) };
    }
    if (card.reference !== undefined) return { model: name, version, profile: card.reference };
    const parent = card.quantization?.parent;
    if (parent !== undefined && depth === 0) return this.load(name, parent, 1);
    return { missing: `${name}@${version} has no reference profile in its card: run models/lw reference --version ${version}` };
  }
}
