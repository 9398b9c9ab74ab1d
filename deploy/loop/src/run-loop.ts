/**
 * One run of the operators' loop on a real broker, S3 and OpenID provider, every service its own
 * process: the parent deployed as production (`rollout set`, as an engineer would), the frames
 * posted through the gateway by their cameras, their verdicts read (read_committed), each one
 * reviewed by a signed-in operator through the dashboard's `POST /api/feedback`, the retrainer's
 * steps followed on the control topic until the request ends, the candidate promoted
 * (`rollout set --production`) and measured on held-out frames (`models/lw loop-eval`). `pnpm loop`
 * and the integration test run this same function; only the input and the infra differ.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment, LoomwatchError, RetrainRequest, Verdict, decodeMessage, deploymentKey, isRetrainKey, type FeedbackLabel } from '@loomwatch/contracts';
import { createKafkaClient, type KafkaClient, type Subscription } from '@loomwatch/kafka';
import { S3BlobStore } from '@loomwatch/storage';
import { REPO_ROOT, builtEntry, infraEnv, type Infra } from '@loomwatch/testkit';
import { postFrame, type StreamFrame } from './frames.js';
import { LW, ensureParent, parentParts, runShowing, type ParentSource } from './parent.js';
import { checkText, countByFabric, outcomesOf, progressLine, secondsSince, stepOf, type HeldOut, type LoopResult, type StepSeen } from './report.js';
import { signIn } from './sign-in.js';
import { loopTopics, mintToken, startDashboard, startGateway, startRetrainer, startWorker, stopAll, untilReady, type LoopTopics, type Service, type ServiceContext } from './services.js';

export interface LoopOptions {
  /** Names the run: its topics, consumer group, logs. */
  run: string;
  infra: Infra;
  /** `name@version` of the parent, in (or brought into) `registry`. */
  parent: string;
  /** The scratch registry the workers read and the candidate is written to. */
  registry: string;
  /** A registry to copy a missing parent from before fitting it. @defaultValue models/registry */
  parentFrom?: string;
  /** The split a missing parent is fit on, the refit validates on and `loop-eval` evaluates on. */
  split: string;
  frames: readonly StreamFrame[];
  workers: number;
  /** `policy.falseAlarms` of the retrainer. */
  falseAlarms: number;
  /** Logs, retrainer work dir, loop-eval output. */
  workDir: string;
  /** Seconds to wait for all verdicts, and for the retrain request(s) to end. */
  verdictTimeoutSec: number;
  retrainTimeoutSec: number;
  /** After `shadow`, seconds to wait for `replayed` (0: do not wait). */
  replayWaitSec: number;
  /** Promote a candidate in shadow (or replayed) to production, and run loop-eval. */
  promote: boolean;
  /** One line of progress. */
  log: (line: string) => void;
}

/** What the run leaves for a caller (the test reads the topics and registry itself). */
export interface LoopRun {
  result: LoopResult;
  topics: LoopTopics;
  /** The frame id the gateway gave each streamed frame, by its AITEX name. */
  frameIds: Map<string, string>;
}

const FRAME_BUCKET = 'loomwatch-frames';
const RESULT_BUCKET = 'loomwatch-results';
const DATASET_BUCKET = 'loomwatch-datasets';
const OPERATOR = { username: 'otto', password: 'otto-demo' };
const ENGINEER = { username: 'erin', password: 'erin-demo' };

/** Runs the loop; stops every service it started, whatever happens. */
export async function runLoop(options: LoopOptions): Promise<LoopRun> {
  const { run, infra, log } = options;
  const started = Date.now();
  const phases: Record<string, number> = {};
  let phaseAt = Date.now();
  const phase = (name: string): void => {
    phases[name] = Math.round((Date.now() - phaseAt) / 100) / 10;
    phaseAt = Date.now();
  };
  const elapsed = (): string => `${Math.round((Date.now() - started) / 1000)} s`;
  const say = (line: string): void => log(`[${elapsed().padStart(6)}] ${line}`);
  const todo: string[] = [];

  const { name: model } = parentParts(options.parent);
  const source: ParentSource = await ensureParent(options.parent, options.registry, options.split, say, options.parentFrom);
  phase('parent');

  const topics = loopTopics(run);
  const logDir = join(options.workDir, 'logs');
  const retrainDir = join(options.workDir, 'retrain');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(retrainDir, { recursive: true });
  const ctx: ServiceContext = { run, infra, topics, logDir, registryRoot: options.registry, frameBucket: FRAME_BUCKET, resultBucket: RESULT_BUCKET };
  const kafka = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: run });
  const store = new S3BlobStore(infra.s3);
  const services: Service[] = [];
  const follows: Subscription[] = [];
  try {
    await kafka.topics.ensure([
      { topic: topics.frames, numPartitions: Math.max(2, options.workers) },
      { topic: topics.verdicts, numPartitions: 2 },
      { topic: topics.shadowVerdicts, numPartitions: 2 },
      { topic: topics.deadLetters, numPartitions: 1 },
      { topic: topics.control, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: topics.feedback, numPartitions: 2 },
      { topic: topics.alerts, numPartitions: 1 },
      { topic: topics.drift, numPartitions: 1 },
    ]);
    for (const bucket of [FRAME_BUCKET, RESULT_BUCKET, DATASET_BUCKET]) await store.ensureBucket(bucket);

    // ── the deployment, then the services ─────────────────────────────────────────────────
    const deployed = rollout(ctx, model, ['--production', parentParts(options.parent).version, '--reason', `loop ${run}: the parent in production`]);
    say(`parent ${options.parent} (${source === 'scratch' ? 'in the scratch registry' : source}); ${deployed}`);
    const cameras = new Map<string, { token: string; entry: unknown }>();
    for (const frame of options.frames) {
      const key = `${frame.lineId}/${frame.cameraId}`;
      if (!cameras.has(key)) cameras.set(key, mintToken(ctx, frame.lineId, frame.cameraId));
    }
    const gateway = await startGateway(ctx, join(options.workDir, 'cameras.json'), [...cameras.values()].map((c) => c.entry));
    services.push(gateway);
    const workers: Service[] = [];
    for (let i = 1; i <= options.workers; i++) workers.push(await startWorker(ctx, i, model));
    services.push(...workers);
    const dashboard = await startDashboard(ctx);
    services.push(dashboard);
    // The parent is read from the scratch registry too, and validated on the run's split; no MLflow
    // run (a scratch candidate is not a release).
    const refitCommand = [LW, 'refit', '--parent-registry', options.registry, '--split', options.split, '--no-mlflow'];
    const retrainer = await startRetrainer(ctx, { model, falseAlarms: options.falseAlarms, workDir: retrainDir, datasetBucket: DATASET_BUCKET, refitCommand });
    services.push(retrainer);
    for (const worker of workers) await untilReady(worker, 180_000);
    say(`started: gateway ${gateway.url} (${cameras.size} camera token(s)), ${workers.length} worker(s), dashboard ${dashboard.url} (oidc), retrainer (policy ${model}: ${options.falseAlarms} false alarm(s) on a fabric); logs in ${logDir}`);
    phase('start');

    // ── retrain records and verdicts, followed from now on ─────────────────────────────────
    const steps: StepSeen[] = [];
    follows.push(
      await kafka.reader.follow(topics.control, (record) => {
        if (record.value === null || !isRetrainKey(record.key)) return;
        const seen = stepOf(record.key ?? '', decodeMessage(RetrainRequest, record.value));
        steps.push(seen);
        say(`retrain ${seen.key}: ${seen.step}${seen.version === undefined ? '' : ` ${seen.version}`}${seen.snapshot === undefined ? '' : ` (snapshot ${seen.snapshot.slice(0, 12)})`}${seen.revision === undefined ? '' : ` revision ${seen.revision}`}${seen.reasons === undefined || seen.reasons.length === 0 ? '' : ` — ${seen.reasons.join('; ')}`}${seen.code === undefined ? '' : ` — ${seen.code}: ${seen.message ?? ''}`}${seen.check === undefined ? '' : ` — ${checkText(seen.check)}`}  at ${seen.at}`);
      }),
    );
    const verdicts = new Map<string, Verdict>();
    follows.push(
      await kafka.reader.follow(topics.verdicts, (record) => {
        if (record.value === null) return;
        const verdict = decodeMessage(Verdict, record.value);
        verdicts.set(verdict.frameId, verdict);
      }),
    );

    // ── stream ─────────────────────────────────────────────────────────────────────────────
    const frameIds = new Map<string, string>();
    const seqs = new Map<string, number>();
    const streamStart = Date.now();
    for (const [i, frame] of options.frames.entries()) {
      const key = `${frame.lineId}/${frame.cameraId}`;
      const seq = seqs.get(key) ?? 0;
      seqs.set(key, seq + 1);
      frameIds.set(frame.name, await postFrame(gateway.url, cameras.get(key)?.token ?? '', frame, seq));
      if ((i + 1) % 10 === 0 || i + 1 === options.frames.length) say(progressLine('posted through the gateway', i + 1, options.frames.length, (Date.now() - streamStart) / 1000) + `  decided ${verdicts.size}`);
    }
    const wanted = new Set(frameIds.values());
    const decided = (): number => [...wanted].filter((id) => verdicts.has(id)).length;
    const verdictDeadline = Date.now() + options.verdictTimeoutSec * 1000;
    let shownAt = Date.now();
    while (decided() < wanted.size) {
      if (Date.now() > verdictDeadline) throw new LoomwatchError('INTERNAL', `only ${decided()} of ${wanted.size} frames decided in ${options.verdictTimeoutSec} s: see the worker logs in ${logDir}`);
      if (Date.now() - shownAt > 10_000) {
        shownAt = Date.now();
        say(progressLine('decided', decided(), wanted.size, (Date.now() - streamStart) / 1000));
      }
      await sleep(500);
    }
    const streamed = [...wanted].map((id) => verdicts.get(id)).filter((v): v is Verdict => v !== undefined);
    say(`${progressLine('decided', streamed.length, wanted.size, (Date.now() - streamStart) / 1000)}: ${streamed.filter((v) => v.verdict === 'defect').length} flagged by ${options.parent}`);
    phase('stream');

    // ── review as an operator, through the dashboard's API ─────────────────────────────────
    const session = await signIn(dashboard.url, OPERATOR.username, OPERATOR.password);
    say(`signed in to the dashboard as ${session.name} (${session.role})`);
    const labels = new Map<string, FeedbackLabel>();
    // The ok frames first: the policy asks for a refit at the Nth false alarm, and the snapshot then
    // freezes what was reviewed so far — the reviewed normals it learns from included.
    const order = [...streamed.filter((v) => v.verdict === 'ok'), ...streamed.filter((v) => v.verdict === 'defect')];
    let lastReviewAt: string | undefined;
    const reviewStart = Date.now();
    for (const [i, verdict] of order.entries()) {
      const label: FeedbackLabel = verdict.verdict === 'defect' ? 'false-alarm' : 'ok-confirmed';
      lastReviewAt = await postReview(dashboard.url, session, verdict, label, `${run}-review-${i}`);
      labels.set(verdict.frameId, label);
      if ((i + 1) % 10 === 0 || i + 1 === order.length) say(progressLine('reviewed as otto', i + 1, order.length, (Date.now() - reviewStart) / 1000));
    }
    const fabrics = countByFabric(streamed, labels);
    for (const f of fabrics) say(`fabric ${f.fabric}: ${f.frames} frames, ${f.flagged} flagged, ${f.reviewed} reviewed (${f.falseAlarms} false alarms, ${f.okConfirmed} ok confirmed)`);
    phase('review');

    // ── the retrainer's steps ──────────────────────────────────────────────────────────────
    const asking = fabrics.filter((f) => f.falseAlarms >= options.falseAlarms).map((f) => f.fabric);
    if (asking.length === 0) say(`no fabric reached ${options.falseAlarms} false alarm(s): the policy asks for no refit`);
    const keys = asking.map((fabric) => `retrain:${model}:${fabric}`);
    const retrainDeadline = Date.now() + options.retrainTimeoutSec * 1000;
    const lastOf = (key: string): StepSeen | undefined => steps.filter((s) => s.key === key).at(-1);
    const shadowSeenAt = new Map<string, number>();
    let waitShownAt = Date.now();
    for (;;) {
      const pending = keys.filter((key) => {
        const last = lastOf(key);
        if (last === undefined) return true;
        if (['refused', 'failed', 'replayed', 'promoted'].includes(last.step)) return false;
        if (last.step !== 'shadow') return true;
        const at = shadowSeenAt.get(key) ?? Date.now();
        shadowSeenAt.set(key, at);
        return Date.now() - at < options.replayWaitSec * 1000;
      });
      if (pending.length === 0) break;
      if (Date.now() > retrainDeadline) throw new LoomwatchError('RETRAIN_INVALID', `${pending.join(', ')} did not end in ${options.retrainTimeoutSec} s (last step: ${pending.map((k) => lastOf(k)?.step ?? 'none').join(', ')}): see ${join(logDir, 'retrainer.log')}`);
      if (Date.now() - waitShownAt > 15_000) {
        waitShownAt = Date.now();
        say(`waiting for the retrainer: ${pending.map((k) => `${k} at ${lastOf(k)?.step ?? 'not yet requested'}`).join(', ')}`);
      }
      await sleep(500);
    }
    const ended = outcomesOf(steps.filter((s) => keys.includes(s.key)));
    for (const outcome of ended) if (outcome.step === 'shadow') todo.push(`${outcome.key}: no replayed step within ${options.replayWaitSec} s of shadow`);
    phase('retrain');

    // ── promote, as an engineer would, and the held-out figures ───────────────────────────
    let promoted: LoopResult['promoted'];
    let heldOut: HeldOut = { ran: false, why: 'no candidate was promoted' };
    // A replayed candidate first (the dashboard promotes only those), then one in shadow.
    const chosen = ended.find((o) => o.step === 'replayed') ?? ended.find((o) => o.step === 'shadow');
    if (options.promote && chosen?.version !== undefined) {
      promoted = chosen.step === 'replayed' ? await promoteInDashboard(dashboard.url, chosen.key, chosen.version) : promoteByRollout(ctx, model, chosen.version, run);
      const deployment = await latestDeployment(kafka, topics.control, model);
      // The dashboard names production by its full reference, rollout set by the bare version.
      if (deployment === undefined || ![chosen.version, chosen.version.split('@')[1]].includes(deployment.production)) throw new LoomwatchError('DEPLOYMENT_INVALID', `after the promotion the deployment in force names production ${deployment?.production ?? 'nothing'}, not ${chosen.version}`);
      promoted.revision = deployment.revision;
      say(`promoted ${chosen.version} to production by ${promoted.by}: deployment revision ${deployment.revision}`);
      phase('promote');
      heldOut = await evaluateHeldOut(options, chosen.version, fabricOfKey(chosen.key), say);
      if (!heldOut.ran) todo.push(`held-out figures: ${heldOut.why}`);
      phase('evaluate');
      // The dashboard's promotion is a record on the request's key too: wait for it to be followed.
      const deadline = Date.now() + 10_000;
      while (chosen.step === 'replayed' && lastOf(chosen.key)?.step !== 'promoted' && Date.now() < deadline) await sleep(200);
    } else if (chosen === undefined) {
      todo.push('no candidate reached shadow: nothing to promote or evaluate (see the outcome and the gate\'s reasons)');
    }
    const ours = steps.filter((s) => keys.includes(s.key));
    const outcomes = outcomesOf(ours);

    const result: LoopResult = {
      run,
      startedAt: new Date(started).toISOString(),
      parent: options.parent,
      registry: options.registry,
      falseAlarmsPolicy: options.falseAlarms,
      fabrics,
      steps: ours,
      sinceLastReview: secondsSince(lastReviewAt, ours),
      ...(lastReviewAt === undefined ? {} : { lastReviewAt }),
      outcomes,
      ...(promoted === undefined ? {} : { promoted }),
      heldOut,
      phases,
      todo,
    };
    return { result, topics, frameIds };
  } finally {
    for (const follow of follows) await follow.stop().catch(() => undefined);
    await stopAll(services);
    store.close();
    rmSync(retrainDir, { recursive: true, force: true });
  }
}

/** The fabric of a `retrain:<model>:<fabric|all>` key; undefined for `all`. */
function fabricOfKey(key: string): string | undefined {
  const fabric = key.split(':')[2];
  return fabric === undefined || fabric === 'all' || fabric === '' ? undefined : fabric;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `loomwatch rollout set --model M …` on the run's control topic and scratch registry; what it published, in one line. */
function rollout(ctx: ServiceContext, model: string, args: readonly string[]): string {
  const result = spawnSync(process.execPath, [builtEntry('services/inference-worker/dist/rollout-cli.js'), 'set', '--model', model, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...infraEnv(ctx.infra), LOOMWATCH_INFERENCE__REGISTRY_ROOT: ctx.registryRoot, LOOMWATCH_WORKER__CONTROL_TOPIC: ctx.topics.control, LOOMWATCH_LOG__LEVEL: 'warn' },
  });
  if (result.status !== 0) throw new LoomwatchError('DEPLOYMENT_INVALID', `loomwatch rollout set ${args.join(' ')} failed: ${result.stderr.trim() || result.stdout.trim()}`);
  // "published:" and the deployment's lines, as one line.
  return result.stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '').slice(0, 3).join(' ');
}

/** Promotes a replayed candidate to production as erin (engineer) through the dashboard's `POST /api/retrain/promote`. */
async function promoteInDashboard(dashboardUrl: string, key: string, version: string): Promise<NonNullable<LoopResult['promoted']>> {
  const erin = await signIn(dashboardUrl, ENGINEER.username, ENGINEER.password);
  const response = await fetch(new URL('/api/retrain/promote', dashboardUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: erin.cookie, 'x-csrf-token': erin.csrfToken, origin: erin.origin },
    body: JSON.stringify({ key, stage: 'production' }),
  });
  if (!response.ok) {
    const problem = (await response.json()) as { code?: string; detail?: string };
    throw new LoomwatchError('DEPLOYMENT_INVALID', `the dashboard refused to promote ${version} (${response.status} ${problem.code ?? ''}: ${problem.detail ?? ''})`);
  }
  return { version, revision: 0, by: `${erin.name} in the dashboard (POST /api/retrain/promote)`, at: new Date().toISOString() };
}

/** Promotes a candidate left in shadow with `loomwatch rollout set --production <candidate> --no-shadow`. */
function promoteByRollout(ctx: ServiceContext, model: string, version: string, run: string): NonNullable<LoopResult['promoted']> {
  rollout(ctx, model, ['--production', version, '--no-shadow', '--reason', `loop ${run}: the refit candidate after review`]);
  return { version, revision: 0, by: 'loomwatch rollout set (an engineer)', at: new Date().toISOString() };
}

/** The latest deployment of `model` on the control topic. */
async function latestDeployment(kafka: KafkaClient, topic: string, model: string): Promise<Deployment | undefined> {
  let latest: Deployment | undefined;
  await kafka.reader.readToEnd([topic], (record) => {
    if (record.key === deploymentKey(model) && record.value !== null) latest = decodeMessage(Deployment, record.value);
  });
  return latest;
}

/** One review through `POST /api/feedback`, as the page sends it; resolves with the record's reviewedAt. */
async function postReview(dashboardUrl: string, session: { cookie: string; csrfToken: string; origin: string }, verdict: Verdict, label: FeedbackLabel, feedbackId: string): Promise<string> {
  const body = { feedbackId, frameId: verdict.frameId, lineId: verdict.lineId, cameraId: verdict.cameraId, capturedAt: verdict.capturedAt, label, queue: verdict.verdict === 'defect' ? 'flagged' : 'sample' };
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(new URL('/api/feedback', dashboardUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.csrfToken, origin: session.origin },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { reviewedAt?: string; code?: string; detail?: string };
    if ((response.status === 201 || response.status === 200) && answer.reviewedAt !== undefined) return answer.reviewedAt;
    // The dashboard may not have read the verdict yet (it follows the topic); the same feedbackId again is one record.
    if ((answer.code === 'VERDICT_NOT_FOUND' || response.status === 503) && attempt < 20) {
      await sleep(500);
      continue;
    }
    throw new LoomwatchError('INTERNAL', `the dashboard refused the review of ${verdict.frameId} (${response.status} ${answer.code ?? ''}: ${answer.detail ?? ''})`);
  }
}

/**
 * `models/lw loop-eval --parent P --candidate C --registry R --split S --fabric F --out FILE`: parent
 * and candidate through the engine on the split's held-out validation frames (and the stream normals,
 * in-sample for the candidate) of the request's fabric; the totals kept, every frame's verdict left
 * in the file.
 */
async function evaluateHeldOut(options: LoopOptions, candidate: string, fabric: string | undefined, say: (line: string) => void): Promise<HeldOut> {
  const help = spawnSync(LW, ['loop-eval', '--help'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (help.status !== 0) return { ran: false, why: 'TODO: `models/lw loop-eval` is not there (engineer D1\'s command); the held-out false-alarm rate before/after and detection are not measured' };
  const file = join(options.workDir, 'loop-eval.json');
  const args = ['loop-eval', '--parent', options.parent, '--candidate', candidate, '--registry', options.registry, '--split', options.split, ...(fabric === undefined ? [] : ['--fabric', fabric]), '--out', file];
  say(`held-out evaluation: models/lw ${args.join(' ')}`);
  const code = await runShowing(LW, args, (line) => say(`  loop-eval: ${line}`));
  if (code !== 0 || !existsSync(file)) return { ran: false, why: `models/lw loop-eval failed (exit ${code}); its lines are above` };
  return { ran: true, figures: evaluationFigures(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>), file };
}

/** The totals of loop-eval's JSON (held out, held out at validation-free thresholds, stream) and its verdict. */
export function evaluationFigures(evaluation: Record<string, unknown>): Record<string, unknown> {
  const figures: Record<string, unknown> = {};
  for (const set of ['heldOut', 'heldOutValidationFree', 'stream']) {
    const part = evaluation[set] as Record<string, { total?: unknown; perFabric?: unknown } | undefined> | undefined;
    if (part?.['parent'] === undefined || part['candidate'] === undefined) continue;
    figures[set] = { parent: part['parent'].total, candidate: part['candidate'].total };
  }
  if (evaluation['verdict'] !== undefined) figures['verdict'] = evaluation['verdict'];
  return figures;
}
