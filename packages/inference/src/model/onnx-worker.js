// The onnxruntime session lives in this worker thread: onnxruntime-node's `session.run` holds
// the thread that calls it for the whole run, so hosting the session here keeps the main thread
// free to decode and post-process other frames meanwhile. Plain JavaScript, so the worker starts
// without a TypeScript loader. Protocol (see onnx-model.ts):
//   → ready | failed;  run → result;  close → closed.
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const { bytes, options, inputName, routeInput, outputName, tileSize, outputChannels, modelCpus } = workerData;
const plane = tileSize * tileSize;
const outputPlane = outputChannels * plane;
/**
 * Tiles arrive in a buffer the main thread shares and refills, and results go back into one it
 * shares (onnxruntime refuses shared memory, so it reads and writes these private buffers): no
 * allocation per run on either thread.
 */
let local = new Float32Array(0);
let localOut = new Float32Array(0);
/** One message at a time: `local` is reused, and onnxruntime would serialise the runs anyway. */
let tail = Promise.resolve();

function describe(meta) {
  return meta.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));
}

/** The feeds of one run: the tiles, and for a routed model (`routeInput`) the route index as int64 [1]. */
function feeds(input, n, route) {
  const tiles = { [inputName]: new ort.Tensor('float32', input, [n, 1, tileSize, tileSize]) };
  return routeInput === null ? tiles : { ...tiles, [routeInput]: new ort.Tensor('int64', BigInt64Array.of(BigInt(route)), [1]) };
}

async function run(session, { id, batch, n, output, route }) {
  try {
    if (local.length < n * plane) local = new Float32Array(n * plane);
    if (localOut.length < n * outputPlane) localOut = new Float32Array(n * outputPlane);
    const input = local.subarray(0, n * plane);
    input.set(batch.subarray(0, n * plane));
    const result = localOut.subarray(0, n * outputPlane);
    await session.run(
      feeds(input, n, route),
      { [outputName]: new ort.Tensor('float32', result, [n, outputChannels, tileSize, tileSize]) },
    );
    if (output !== undefined) {
      output.set(result);
      parentPort.postMessage({ type: 'result', id, filled: true });
    } else {
      const copy = result.slice();
      parentPort.postMessage({ type: 'result', id, output: copy }, [copy.buffer]);
    }
  } catch (err) {
    parentPort.postMessage({ type: 'result', id, error: err instanceof Error ? err.message : String(err) });
  }
}

async function handle(session, message) {
  if (message.type === 'close') {
    await session.release();
    parentPort.postMessage({ type: 'closed' });
    parentPort.close();
    return;
  }
  await run(session, message);
}

/**
 * With `inference.modelCpus` this thread moves onto the model's CPUs before the session exists, so
 * the intra-op threads onnxruntime starts for it inherit them (cpu-affinity.ts keeps the others off).
 */
function pinToModelCpus() {
  const tid = readlinkSync('/proc/thread-self').split('/').pop();
  try {
    execFileSync('taskset', ['--pid', '--cpu-list', modelCpus, tid], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`inference.modelCpus: taskset could not pin the model's thread to CPUs ${modelCpus} (${err instanceof Error ? err.message : String(err)})`);
  }
}

try {
  if (modelCpus !== null) pinToModelCpus();
  const session = await ort.InferenceSession.create(bytes, options);
  parentPort.on('message', (message) => {
    tail = tail.then(() => handle(session, message));
  });
  parentPort.postMessage({
    type: 'ready',
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    inputMetadata: describe(session.inputMetadata),
    outputMetadata: describe(session.outputMetadata),
  });
} catch (err) {
  parentPort.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
}
