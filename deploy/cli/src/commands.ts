/** Every `loomwatch` command: the compiled entry it runs, relative to the repository root. */
export interface LoomwatchCommand {
  name: string;
  /** Words shown after the name in the command list; `<a|b>` first names its subcommands (or modes). */
  args: string;
  description: string;
  entry: string;
}

export const COMMANDS: readonly LoomwatchCommand[] = [
  { name: 'worker', args: '[options]', description: 'the inference worker: frames.v1 → verdicts, exactly once', entry: 'services/inference-worker/dist/main.js' },
  { name: 'gateway', args: '<simulate|hot-folder|http> [options]', description: 'the camera gateway: images to S3, frame events to frames.v1', entry: 'services/camera-gateway/dist/main.js' },
  { name: 'alerting', args: '[options]', description: 'rules over verdicts, dead letters, frames and drift → alerts and webhooks', entry: 'services/alerting/dist/main.js' },
  { name: 'drift', args: '[options]', description: "the drift monitor: windows of verdicts against the model card's reference → drift.v1", entry: 'services/drift-monitor/dist/main.js' },
  { name: 'dashboard', args: '[options]', description: 'the line dashboard (web page)', entry: 'services/dashboard/dist/main.js' },
  { name: 'api', args: '[options]', description: 'the REST inference API', entry: 'services/inference-api/dist/main.js' },
  { name: 'verdicts', args: 'tail [options]', description: 'print verdicts as JSON lines (read_committed)', entry: 'services/alerting/dist/verdicts-cli.js' },
  { name: 'rollout', args: '<status|set> [options]', description: 'show or change which model versions decide live frames', entry: 'services/inference-worker/dist/rollout-cli.js' },
  { name: 'topics', args: 'apply [options]', description: 'create and check the Kafka topics from their one declaration', entry: 'services/inference-worker/dist/topics-cli.js' },
  { name: 'replay', args: '<run|report> [options]', description: 'decide past frames again with another model version, and compare', entry: 'services/replay/dist/cli.js' },
  { name: 'dataset', args: '<snapshot|pull|list> [options]', description: "the labelled data set: snapshots of the operators' reviews in S3, laid out on disk", entry: 'services/dataset/dist/cli.js' },
  { name: 'retrain', args: '<run|request> [options]', description: "refit a model from the operators' reviews: the retrainer (snapshot, refit, shadow) and requests for it", entry: 'services/retrainer/dist/cli.js' },
  { name: 'infer', args: '[options] <image>...', description: 'run a model on image files', entry: 'packages/inference/dist/cli/infer.js' },
  { name: 'soak', args: '[options]', description: 'the soak: frames through workers under faults, every outcome counted', entry: 'deploy/soak/dist/soak.js' },
  { name: 'demo', args: '[options]', description: 'the demo on the local Kafka and S3 (make demo starts them)', entry: 'deploy/demo/dist/demo.js' },
];

/** `loomwatch bench <name>`: each benchmark, run from its TypeScript source with tsx (the sources of its workspace packages too). */
export const BENCHES: Readonly<Record<string, { file: string; description: string }>> = {
  inference: { file: 'packages/inference/bench/inference.bench.ts', description: 'the infer path vs bare onnxruntime vs a Python onnxruntime loop' },
  pipeline: { file: 'services/inference-worker/bench/pipeline.bench.ts', description: 'the whole path on the local broker and S3, and its latency' },
  replay: { file: 'services/replay/bench/replay.bench.ts', description: "replay throughput vs the live pipeline's" },
  api: { file: 'services/inference-api/bench/api.bench.ts', description: 'the REST API under load vs the engine in-process' },
  kafka: { file: 'packages/kafka/bench/clients.bench.ts', description: 'the Kafka ports vs kafkajs' },
};

/** The words a command takes first (its subcommands or modes), from its `args`. */
export function firstWords(command: LoomwatchCommand): string[] {
  if (command.name === 'verdicts' || command.name === 'topics') return command.args.split(' ').slice(0, 1);
  const match = /^<([a-z|-]+)>/.exec(command.args);
  return match?.[1]?.split('|') ?? [];
}
