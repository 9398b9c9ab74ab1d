/**
 * The model port. The engine sees this, never an onnxruntime session: a batch of `n` tiles
 * `[n, 1, T, T]` (float32, already scaled) in, the raw output `[n, C, T, T]` out. `run` may be
 * called again before earlier runs settle: the adapter queues them and runs them one at a time,
 * in call order, and `close` waits for the runs already queued.
 */
export interface Model {
  /**
   * Runs `n` tiles. `batch` may be longer than `n·T²`; only the first `n` tiles are read. It
   * may be backed by a `SharedArrayBuffer` (the onnxruntime adapter then reads it from its
   * worker thread without a copy here); the caller must not write to it until the promise settles.
   * Resolves to the output, written into `output` when given (at least `n·C·T²` long, reused by
   * the caller across runs; shared memory lets the adapter fill it from another thread), else
   * into a buffer the caller owns. `route` is the index a routed model's card (`routing`) takes
   * beside the tiles — which per-fabric part of the graph runs them; required for such a model,
   * refused by one that does not route.
   */
  run(batch: Float32Array, n: number, output?: Float32Array, route?: number): Promise<Float32Array>;
  close(): Promise<void>;
  /** False once the model is closed or its runtime died: every later run would fail. */
  readonly usable: boolean;
}
