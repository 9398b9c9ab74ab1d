import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { LoomwatchError, type ModelCard } from '@loomwatch/contracts';
import type { InferenceConfig } from '../options.js';
import { allowedCpus, formatCpuList, pinOtherThreads, planCpus } from './cpu-affinity.js';
import type { Model } from './model.js';

export type SessionConfig = Pick<InferenceConfig, 'intraOpNumThreads' | 'interOpNumThreads' | 'graphOptimizationLevel' | 'executionProviders'> &
  Partial<Pick<InferenceConfig, 'intraOpSpinning' | 'modelCpus'>>;

/** onnxruntime session options from the `inference` config section. */
export function sessionOptions(config: SessionConfig): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: config.intraOpNumThreads,
    interOpNumThreads: config.interOpNumThreads,
    graphOptimizationLevel: config.graphOptimizationLevel,
    executionProviders: [...config.executionProviders],
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: config.intraOpSpinning === true ? '1' : '0' } } },
  };
}

/** What a session says about its inputs and outputs (plain data, as the worker reports it). */
export interface SessionDescription {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata: readonly InferenceSession.ValueMetadata[];
  outputMetadata: readonly InferenceSession.ValueMetadata[];
}

/** A numeric dimension must equal `want`; symbolic ones (dynamic axes) are accepted. */
function dimMatches(dim: number | string | undefined, want: number): boolean {
  return typeof dim !== 'number' || dim < 0 || dim === want;
}

/**
 * A routed card's second input (`routing.input`) must be an int64 input of shape [1] of the graph,
 * and a graph may take no input the card does not describe (onnxruntime would refuse every run).
 */
function checkRoutingInput(session: SessionDescription, card: ModelCard, what: string): void {
  const routing = card.routing;
  if (routing !== undefined && !session.inputNames.includes(routing.input)) {
    throw new LoomwatchError(
      'MODEL_SHAPE_MISMATCH',
      `${what} has inputs [${session.inputNames.join(', ')}] but the card routes by an input "${routing.input}": fix routing.input in the card or re-export the model with it`,
    );
  }
  const described = routing === undefined ? [card.input.name] : [card.input.name, routing.input];
  const extra = session.inputNames.filter((name) => !described.includes(name));
  if (extra.length > 0) {
    throw new LoomwatchError(
      'MODEL_SHAPE_MISMATCH',
      `${what} has inputs [${session.inputNames.join(', ')}] but the card describes only [${described.join(', ')}]: ${routing === undefined ? "a graph with a second input needs the card's routing (routing.input names it)" : 'fix the card or re-export the model'}`,
    );
  }
  if (routing === undefined) return;
  const info = session.inputMetadata.find((m) => m.name === routing.input);
  if (info === undefined || !info.isTensor) return;
  const shapeOk = info.shape.length === 0 || (info.shape.length === 1 && dimMatches(info.shape[0], 1));
  if (info.type !== 'int64' || !shapeOk) {
    throw new LoomwatchError(
      'MODEL_SHAPE_MISMATCH',
      `${what} routing input "${routing.input}" is ${info.type} [${info.shape.join(', ')}], the engine feeds int64 [1] (the index of the fabric's part): re-export the model`,
    );
  }
}

/**
 * Checks the session's inputs and output against the card: names, float32, rank 4 and every
 * static dimension, and the routing input of a routed card. Returns the largest batch the graph
 * accepts (a fixed batch axis of 1 forces single-tile batches; any other fixed batch is refused).
 */
export function checkSessionAgainstCard(session: SessionDescription, card: ModelCard, what: string): number {
  checkRoutingInput(session, card, what);
  const t = card.input.tileSize;
  const sides = [
    { role: 'input', name: card.input.name, names: session.inputNames, meta: session.inputMetadata, channels: card.input.channels },
    { role: 'output', name: card.output.name, names: session.outputNames, meta: session.outputMetadata, channels: card.output.channels },
  ] as const;
  let batchLimit = Infinity;
  for (const { role, name, names, meta, channels } of sides) {
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
        `${what} ${role} "${name}" has shape [${shape.join(', ')}], the card describes [N, ${channels}, ${t}, ${t}]: fix input/output in the card or re-export the model`,
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

/** onnxruntime's complaint when building a session, as a typed error. */
function sessionError(message: string, what: string): LoomwatchError {
  if (/opset/i.test(message)) {
    return new LoomwatchError('MODEL_OPSET_UNSUPPORTED', `onnxruntime cannot run ${what}: ${message} — re-export with a supported opset`);
  }
  return new LoomwatchError('MODEL_CARD_INVALID', `onnxruntime cannot load ${what}: ${message} — re-export the model`);
}

type FromWorker =
  | ({ type: 'ready' } & SessionDescription)
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; output?: Float32Array; filled?: true; error?: string }
  | { type: 'closed' };

interface Pending {
  resolve: (output: Float32Array) => void;
  reject: (err: LoomwatchError) => void;
  n: number;
  /** The caller's buffer the worker writes the result into, if it gave one. */
  into: Float32Array | undefined;
}

/**
 * The onnxruntime adapter behind the `Model` port. The session runs in a worker thread, because
 * onnxruntime-node's `run` occupies the calling thread until it finishes; tiles reach it through
 * the caller's (ideally `SharedArrayBuffer`-backed) batch buffer without a copy on this side,
 * and results come back in the caller's output buffer (or a transferred one).
 */
export class OnnxModel implements Model {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  private closing: Promise<void> | undefined;

  get usable(): boolean {
    return !this.closed;
  }

  private constructor(
    private readonly worker: Worker,
    private readonly outputPlane: number,
    private readonly what: string,
    /** The largest batch the graph accepts. */
    readonly batchLimit: number,
    /** The card's routing input, for a routed model. */
    private readonly routeInput: string | undefined,
  ) {
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (err: Error) => this.failAll(`the onnxruntime worker crashed: ${err.message}`));
    worker.on('exit', (code) => this.failAll(`the onnxruntime worker exited (code ${code})`));
    worker.unref();
  }

  /**
   * Starts the worker, builds the session from `bytes` (already verified against the card),
   * checks it against the card and runs one zero tile through it, so a model that loads but
   * produces the wrong output size fails here, not on the first frame.
   */
  static async create(bytes: Uint8Array, card: ModelCard, config: SessionConfig, what = `${card.name}@${card.version}`): Promise<OnnxModel> {
    const t = card.input.tileSize;
    // The model's CPUs: everything else moves off them first, so the worker thread starts on the rest and then pins itself.
    const cpus = config.modelCpus === undefined ? undefined : planCpus(config.modelCpus, allowedCpus());
    if (cpus !== undefined) pinOtherThreads(cpus);
    const worker = new Worker(new URL('./onnx-worker.js', import.meta.url), {
      workerData: {
        bytes,
        options: sessionOptions(config),
        inputName: card.input.name,
        routeInput: card.routing?.input ?? null,
        outputName: card.output.name,
        tileSize: t,
        outputChannels: card.output.channels,
        modelCpus: cpus === undefined ? null : formatCpuList(cpus.model),
      },
    });
    let description: SessionDescription;
    try {
      description = await new Promise<SessionDescription>((resolve, reject) => {
        worker.once('message', (message: FromWorker) => {
          if (message.type === 'ready') resolve(message);
          else reject(sessionError(message.type === 'failed' ? message.message : `unexpected ${message.type}`, what));
        });
        worker.once('error', (err: Error) => reject(new LoomwatchError('MODEL_RUN_FAILED', `the onnxruntime worker for ${what} failed to start: ${err.message}`, { cause: err })));
      });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    // Threads started while the worker came up (V8's, libuv's) go to the rest too.
    if (cpus !== undefined) pinOtherThreads(cpus);
    let batchLimit: number;
    try {
      batchLimit = checkSessionAgainstCard(description, card, what);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    const model = new OnnxModel(worker, card.output.channels * t * t, what, batchLimit, card.routing?.input);
    try {
      await model.run(new Float32Array(t * t), 1, undefined, card.routing?.fallback);
      return model;
    } catch (err) {
      await model.close();
      throw new LoomwatchError(
        'MODEL_SHAPE_MISMATCH',
        `${what} fails on one zero tile shaped as the card describes (input [1, 1, ${t}, ${t}]${card.routing === undefined ? '' : `, ${card.routing.input} [${card.routing.fallback}]`}, output [1, ${card.output.channels}, ${t}, ${t}]): ${(err as Error).message} — fix input/output${card.routing === undefined ? '' : '/routing'} in the card or re-export the model`,
        { cause: err },
      );
    }
  }

  /**
   * Runs `n` tiles. With `output` — ideally `SharedArrayBuffer`-backed, at least `n·C·T²` long —
   * the result is written there and a view of it returned, so steady-state runs allocate nothing.
   * A routed model feeds `route` as its routing input (int64 [1]).
   */
  run(batch: Float32Array, n: number, output?: Float32Array, route?: number): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new LoomwatchError('MODEL_RUN_FAILED', `${this.what} is closed`));
    if (this.routeInput !== undefined && !(route !== undefined && Number.isSafeInteger(route) && route >= 0)) {
      return Promise.reject(new LoomwatchError('MODEL_RUN_FAILED', `${this.what} routes by its input "${this.routeInput}": a run needs a route index ≥ 0, got ${String(route)}`));
    }
    if (this.routeInput === undefined && route !== undefined) {
      return Promise.reject(new LoomwatchError('MODEL_RUN_FAILED', `${this.what} does not route (its card has no routing): a run takes no route, got ${route}`));
    }
    if (output !== undefined && output.length < n * this.outputPlane) {
      return Promise.reject(new LoomwatchError('MODEL_RUN_FAILED', `output buffer of ${output.length} values is too small for ${n} tiles (${n * this.outputPlane})`));
    }
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, n, into: output });
      this.worker.ref();
      this.worker.postMessage({ type: 'run', id, batch, n, output, route });
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      const closed = new Promise<void>((resolve) => {
        const onMessage = (message: FromWorker): void => {
          if (message.type === 'closed') resolve();
        };
        this.worker.on('message', onMessage);
        this.worker.once('exit', () => resolve());
      });
      this.worker.postMessage({ type: 'close' });
      this.worker.ref();
      await closed;
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private onMessage(message: FromWorker): void {
    if (message.type !== 'result') return;
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    if (message.filled === true && pending.into !== undefined) {
      pending.resolve(pending.into.subarray(0, pending.n * this.outputPlane));
    } else if (message.output !== undefined) {
      pending.resolve(message.output);
    } else {
      pending.reject(new LoomwatchError('MODEL_RUN_FAILED', `onnxruntime failed on a batch of ${pending.n} tiles: ${message.error ?? 'no output'}`));
    }
  }

  private failAll(reason: string): void {
    this.closed = true;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new LoomwatchError('MODEL_RUN_FAILED', `${reason} while running ${pending.n} tiles of ${this.what}`, { retryable: true }));
    }
  }
}
