/**
 * `pnpm bench:api [--model REF] [--seconds S] [--connections C]`
 *
 * The REST API under load on loopback: the API runs as deployed (`node dist/main.js`, its own
 * process, auth on with a fresh token), autocannon posts one AITEX frame over C keep-alive connections for S seconds and
 * reports requests/s and latency p50/p99. Before that, in this process, the engine's bare speed
 * on the same frame and model, C frames in flight for S seconds each: `engine.infer` (decode,
 * tiles, model, post-processing) and `EngineDecider.decide` (the same plus the map PNG and the
 * overlay JPEG the API renders), neither with HTTP. The ratios are API / bare.
 * Progress goes to stderr; the last stdout line is one JSON object.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { newCommand, parseOrExit } from '@loomwatch/config';
import { newToken } from '@loomwatch/http';
import { EngineDecider, InferenceEngine } from '@loomwatch/inference';
import { aitexFrames, builtEntry, processExited } from '@loomwatch/testkit';

const command = newCommand({
  name: 'pnpm bench:api',
  summary: 'The REST API under load on loopback (autocannon), against the engine called in-process in the same run.',
  examples: ['loomwatch bench api --seconds 20 --connections 2'],
})
  .option('--model <ref>', 'model version the API serves', 'draem-random@0.0.1')
  .option('--seconds <s>', 'seconds of load per measurement (1\u2013120)', '20')
  .option('--connections <c>', 'concurrent connections (1\u201316)', '2');
parseOrExit(command);
const values = command.opts<{
  model: string;
  seconds: string;
  connections: string;
}>();
const seconds = Math.min(Math.max(Number(values.seconds), 1), 120);
const connections = Math.min(Math.max(Number(values.connections), 1), 16);
const model = values.model;
const frame = aitexFrames().find((f) => f.defectCode !== '000');
if (frame === undefined) throw new Error('no AITEX defect frame: set AITEX_DIR');
const image = readFileSync(frame.path);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Frames/s of `run` with `inFlight` frames at once, for `ms` (after a warm-up). */
async function rate(run: () => Promise<unknown>, inFlight: number, ms: number): Promise<number> {
  await run();
  let done = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await run();
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

/** The engine alone (`engine.infer`: decode, tiles, model, post-processing), then with the API's rendering (`EngineDecider.decide`). */
async function bareRates(inFlight: number, ms: number): Promise<{ infer: number; decide: number }> {
  const engine = await InferenceEngine.load({ model });
  const infer = await rate(() => engine.infer(image), inFlight, ms).finally(() => engine.close());
  const decider = await EngineDecider.load({ model, overlayFormat: 'jpeg' });
  const decide = await rate(() => decider.decide(image), inFlight, ms).finally(() => decider.close());
  return { infer, decide };
}

/** The API runs as deployed, with auth on: every request carries this token. */
const token = newToken();

async function startApi(): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      builtEntry('services/inference-api/dist/main.js'),
      ...['--set', 'api.port=0', '--set', 'ops.port=0', '--set', `api.maxInFlight=${connections}`, '--set', 'api.maxQueued=0'],
    ],
    { env: { ...process.env, LOOMWATCH_MODEL: model, LOOMWATCH_API_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the API exited with ${code} before listening`)));
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'inference API listening' && entry.port !== undefined) resolve(entry.port);
    });
  });
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      await processExited(child);
    },
  };
}

log(`bench:api — ${model}, frame ${frame.name} (${image.length} bytes), ${connections} connection(s) × ${seconds} s; load ${load()}`);
const bareRuns = await bareRates(connections, seconds * 1000);
const bare = bareRuns.infer;
log(`bare, ${connections} in flight: engine.infer ${bareRuns.infer.toFixed(2)} frames/s, EngineDecider.decide (+ map and overlay) ${bareRuns.decide.toFixed(2)} frames/s; load ${load()}`);

const api = await startApi();
let result: autocannon.Result;
try {
  result = await autocannon({
    url: `http://127.0.0.1:${api.port}/v1/infer`,
    method: 'POST',
    headers: { 'content-type': 'image/png', authorization: `Bearer ${token}` },
    body: image,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 60,
  });
} finally {
  await api.stop();
}
const ok = result['2xx'];
const apiRate = ok / (result.duration || seconds);
const summary = {
  model,
  frame: frame.name,
  connections,
  seconds,
  bareFramesPerSecond: Number(bare.toFixed(3)),
  bareDecideFramesPerSecond: Number(bareRuns.decide.toFixed(3)),
  apiRequestsPerSecond: Number(apiRate.toFixed(3)),
  ratioToBare: Number((apiRate / bare).toFixed(3)),
  ratioToBareDecide: Number((apiRate / bareRuns.decide).toFixed(3)),
  latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  ok,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  loadAverage: load(),
};
log(
  `API: ${apiRate.toFixed(2)} requests/s (${ok} ok, ${result.non2xx} non-2xx, ${result.errors} errors), p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; ` +
    `${(apiRate / bare).toFixed(3)} × bare infer, ${(apiRate / bareRuns.decide).toFixed(3)} × bare decide; load ${load()}`,
);
console.log(JSON.stringify(summary));
