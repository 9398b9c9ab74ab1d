import * as ort from 'onnxruntime-node';
import { LoomwatchError, type ModelCard } from '@loomwatch/contracts';
import type { InferenceConfig } from '../options.js';
import type { Model } from './model.js';

export type SessionConfig = Pick<InferenceConfig, 'intraOpNumThreads' | 'interOpNumThreads' | 'graphOptimizationLevel' | 'executionProviders'>;

/** onnxruntime session options from the `inference` config section. */
export function sessionOptions(config: SessionConfig): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: config.intraOpNumThreads,
    interOpNumThreads: config.interOpNumThreads,
    graphOptimizationLevel: config.graphOptimizationLevel,
    executionProviders: [...config.executionProviders],
    executionMode: 'sequential',
  };
}

/** Builds a session from verified bytes; onnxruntime's complaints become typed errors. */
export async function createSession(bytes: Uint8Array, config: SessionConfig, what: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(config));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/opset/i.test(message)) {
      throw new LoomwatchError('MODEL_OPSET_UNSUPPORTED', `onnxruntime cannot run ${what}: ${message} — re-export with a supported opset`, { cause: err });
    }
    throw new LoomwatchError('MODEL_CARD_INVALID', `onnxruntime cannot load ${what}: ${message} — re-export the model`, { cause: err });
  }
}

function describeShape(shape: ReadonlyArray<number | string>): string {
  return `[${shape.join(', ')}]`;
}

/** A numeric dimension must equal `want`; symbolic ones (dynamic axes) are accepted. */
function dimMatches(dim: number | string | undefined, want: number): boolean {
  return typeof dim !== 'number' || dim < 0 || dim === want;
}

/**
 * Checks the session's input and output against the card: names, float32, rank 4 and every
 * static dimension. Returns the largest batch the graph accepts (a fixed batch axis of 1
 * forces single-tile batches; any other fixed batch is refused).
 */
export function checkSessionAgainstCard(session: ort.InferenceSession, card: ModelCard, what: string): number {
  const t = card.input.tileSize;
  const expect = [
    { role: 'input', name: card.input.name, names: session.inputNames, meta: session.inputMetadata, channels: card.input.channels },
    { role: 'output', name: card.output.name, names: session.outputNames, meta: session.outputMetadata, channels: card.output.channels },
  ] as const;
  let batchLimit = Infinity;
  for (const { role, name, names, meta, channels } of expect) {
    if (!names.includes(name)) {
      throw new LoomwatchError('MODEL_SHAPE_MISMATCH', `${what} has ${role}s [${names.join(', ')}] but the card names its ${role} "${name}": fix the card or re-export the model`);
    }
    const info = meta.find((m) => m.name === name);
    if (info === undefined || !info.isTensor) continue;
    if (info.type !== 'float32') {
      throw new LoomwatchError('MODEL_SHAPE_MISMATCH', `${what} ${role} "${name}" is ${info.type}, the engine feeds and reads float32: re-export the model in float32`);
    }
    const shape = info.shape;
    if (shape.length === 0) continue;
    const ok = shape.length === 4 && dimMatches(shape[1], channels) && dimMatches(shape[2], t) && dimMatches(shape[3], t);
    if (!ok) {
      throw new LoomwatchError(
        'MODEL_SHAPE_MISMATCH',
        `${what} ${role} "${name}" has shape ${describeShape(shape)}, the card describes [N, ${channels}, ${t}, ${t}]: fix input/output in the card or re-export the model`,
      );
    }
    const batch = shape[0];
    if (typeof batch === 'number' && batch > 0) {
      if (batch !== 1) {
        throw new LoomwatchError('MODEL_SHAPE_MISMATCH', `${what} ${role} "${name}" has a fixed batch of ${batch}: re-export with a dynamic batch axis (dynamic_axes={"${name}": {0: "batch"}})`);
      }
      batchLimit = 1;
    }
  }
  return batchLimit;
}

/** The onnxruntime adapter behind the `Model` port. */
export class OnnxModel implements Model {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly tileSize: number,
    private readonly outputPlane: number,
    /** The largest batch the graph accepts. */
    readonly batchLimit: number,
  ) {}

  /**
   * Builds the session, checks it against the card and runs one zero tile through it, so a
   * model that loads but produces the wrong output size fails here, not on the first frame.
   */
  static async create(bytes: Uint8Array, card: ModelCard, config: SessionConfig, what = `${card.name}@${card.version}`): Promise<OnnxModel> {
    const session = await createSession(bytes, config, what);
    try {
      const batchLimit = checkSessionAgainstCard(session, card, what);
      const t = card.input.tileSize;
      const model = new OnnxModel(session, card.input.name, card.output.name, t, card.output.channels * t * t, batchLimit);
      const out = await model.run(new Float32Array(t * t), 1);
      if (out.length !== model.outputPlane) {
        throw new LoomwatchError(
          'MODEL_SHAPE_MISMATCH',
          `${what} returned ${out.length} values for one tile, the card describes ${card.output.channels}×${t}×${t}: fix output.channels / tileSize in the card`,
        );
      }
      return model;
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  async run(batch: Float32Array, n: number): Promise<Float32Array> {
    const t = this.tileSize;
    const input = new ort.Tensor('float32', batch.length === n * t * t ? batch : batch.subarray(0, n * t * t), [n, 1, t, t]);
    let output: ort.Tensor | undefined;
    try {
      output = (await this.session.run({ [this.inputName]: input }, [this.outputName]))[this.outputName];
    } catch (err) {
      throw new LoomwatchError('MODEL_RUN_FAILED', `onnxruntime failed on a batch of ${n} tiles: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (output?.type !== 'float32' || !(output.data instanceof Float32Array) || output.data.length !== n * this.outputPlane) {
      throw new LoomwatchError('MODEL_RUN_FAILED', `the model returned ${output?.type ?? 'nothing'} of ${output?.data.length ?? 0} values for ${n} tiles; expected float32 × ${n * this.outputPlane}`);
    }
    return output.data;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
