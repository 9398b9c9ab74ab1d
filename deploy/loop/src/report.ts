/**
 * What a loop run measured, as plain data: the verdicts and reviews counted per fabric, the retrain
 * steps with their times, the timings the issue asks for ("last review → candidate in shadow",
 * → replayed), and the markdown summary written beside the JSON. Pure: no I/O here.
 */
import type { RetrainRequest, Verdict } from '@loomwatch/contracts';

/** One fabric's frames: decided, flagged by the parent, and reviewed through the dashboard. */
export interface FabricCount {
  fabric: string;
  frames: number;
  flagged: number;
  reviewed: number;
  falseAlarms: number;
  okConfirmed: number;
}

/** A retrain record as it was seen on the control topic, with the time it was seen. */
export interface StepSeen {
  key: string;
  id: string;
  step: RetrainRequest['status']['step'];
  /** The record's own `updatedAt`. */
  at: string;
  version?: string;
  snapshot?: string;
  revision?: number;
  reasons?: string[];
  code?: string;
  message?: string;
  /** The replay over the reviewed frames (`replayed`, `promoted`): normals and defects flagged by parent and candidate. */
  check?: RetrainCheck;
}

type RetrainCheck = Extract<RetrainRequest['status'], { step: 'replayed' }>['check'];

/** What the held-out evaluation (`models/lw loop-eval`) said, or why it did not run. */
export type HeldOut = { ran: true; figures: Record<string, unknown>; file: string } | { ran: false; why: string };

export interface LoopResult {
  run: string;
  startedAt: string;
  parent: string;
  registry: string;
  falseAlarmsPolicy: number;
  fabrics: FabricCount[];
  steps: StepSeen[];
  /** Seconds from the last review to the first record of each step (negative: recorded before it). */
  sinceLastReview: Partial<Record<StepSeen['step'], number>>;
  lastReviewAt?: string;
  /** Each request's last step: its outcome. */
  outcomes: { key: string; step: StepSeen['step']; version?: string; reasons?: string[] }[];
  promoted?: { version: string; revision: number; by: string; at: string };
  heldOut: HeldOut;
  /** Wall seconds of each phase (parent, start, stream, review, retrain, promote, evaluate). */
  phases: Record<string, number>;
  todo: string[];
}

/** Counts per fabric from the verdicts of the streamed frames and the labels posted for them. */
export function countByFabric(verdicts: readonly Verdict[], labels: ReadonlyMap<string, string>): FabricCount[] {
  const byFabric = new Map<string, FabricCount>();
  for (const verdict of verdicts) {
    const fabric = verdict.fabricCode ?? 'none';
    const count = byFabric.get(fabric) ?? { fabric, frames: 0, flagged: 0, reviewed: 0, falseAlarms: 0, okConfirmed: 0 };
    count.frames++;
    if (verdict.verdict === 'defect') count.flagged++;
    const label = labels.get(verdict.frameId);
    if (label !== undefined) count.reviewed++;
    if (label === 'false-alarm') count.falseAlarms++;
    if (label === 'ok-confirmed') count.okConfirmed++;
    byFabric.set(fabric, count);
  }
  return [...byFabric.values()].sort((a, b) => a.fabric.localeCompare(b.fabric));
}

/** The step a retrain record names, with what that step carries. */
export function stepOf(key: string, request: RetrainRequest): StepSeen {
  const status = request.status;
  const seen: StepSeen = { key, id: request.id, step: status.step, at: request.updatedAt };
  if ('version' in status) seen.version = status.version;
  if ('snapshot' in status) seen.snapshot = status.snapshot;
  if ('revision' in status) seen.revision = status.revision;
  if ('reasons' in status) seen.reasons = status.reasons;
  if ('check' in status && status.check !== undefined) seen.check = status.check;
  if (status.step === 'failed') {
    seen.code = status.code;
    seen.message = status.message;
  }
  return seen;
}

/**
 * Seconds from `from` (the last review) to the first record of each step; negative for a step
 * recorded before it (the policy asked before the last review, or a snapshot froze less than all).
 */
export function secondsSince(from: string | undefined, steps: readonly StepSeen[]): LoopResult['sinceLastReview'] {
  if (from === undefined) return {};
  const start = Date.parse(from);
  const out: LoopResult['sinceLastReview'] = {};
  for (const seen of steps) {
    if (out[seen.step] !== undefined) continue;
    out[seen.step] = Math.round((Date.parse(seen.at) - start) / 100) / 10;
  }
  return out;
}

/** The last step of each request key, in the order the keys first appeared. */
export function outcomesOf(steps: readonly StepSeen[]): LoopResult['outcomes'] {
  const last = new Map<string, StepSeen>();
  for (const seen of steps) last.set(seen.key, seen);
  return [...last.values()].map((seen) => ({ key: seen.key, step: seen.step, ...(seen.version === undefined ? {} : { version: seen.version }), ...(seen.reasons === undefined ? {} : { reasons: seen.reasons }) }));
}

const seconds = (value: number | undefined): string => (value === undefined ? '—' : `${value} s`);

/** The summary table printed at the end and written as loop.md. */
export function renderMarkdown(result: LoopResult): string {
  const lines = [
    `# Review loop ${result.run}`,
    '',
    `Parent \`${result.parent}\` (registry \`${result.registry}\`), policy: ${result.falseAlarmsPolicy} false alarm(s) on a fabric ask for a refit. Started ${result.startedAt}.`,
    '',
    '| fabric | frames | flagged | reviewed | false alarms | ok confirmed |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...result.fabrics.map((f) => `| ${f.fabric} | ${f.frames} | ${f.flagged} | ${f.reviewed} | ${f.falseAlarms} | ${f.okConfirmed} |`),
    '',
    '| retrain step | key | at | detail |',
    '| --- | --- | --- | --- |',
    ...result.steps.map((s) => `| ${s.step} | ${s.key} | ${s.at} | ${stepDetail(s).replaceAll('|', '\\|')} |`),
    '',
    '| timing | seconds |',
    '| --- | ---: |',
    `| last review → first request (negative: asked before the last review) | ${seconds(result.sinceLastReview.requested)} |`,
    `| last review → snapshot | ${seconds(result.sinceLastReview.snapshot)} |`,
    `| last review → candidate (or refused) | ${seconds(result.sinceLastReview.candidate ?? result.sinceLastReview.refused)} |`,
    `| last review → candidate in shadow | ${seconds(result.sinceLastReview.shadow)} |`,
    `| last review → replayed | ${seconds(result.sinceLastReview.replayed)} |`,
    ...Object.entries(result.phases).map(([phase, value]) => `| phase: ${phase} | ${value} |`),
    '',
    `Outcome: ${result.outcomes.length === 0 ? 'no retrain request' : result.outcomes.map((o) => `${o.key} → ${o.step}${o.version === undefined ? '' : ` (${o.version})`}`).join('; ')}.`,
    result.promoted === undefined ? 'Promoted: nothing.' : `Promoted: ${result.promoted.version} to production, deployment revision ${result.promoted.revision}, by ${result.promoted.by}.`,
    ...(result.heldOut.ran ? ['', `Held-out figures (models/lw loop-eval, ${result.heldOut.file}):`, '', ...figureTable(result.heldOut.figures)] : [`Held-out figures: not measured — ${result.heldOut.why}`]),
    ...(result.todo.length === 0 ? [] : ['', 'TODO:', ...result.todo.map((t) => `- ${t}`)]),
    '',
  ];
  return lines.join('\n');
}

/** `k/n (rate %, 95 % low–high %)` of a loop-eval proportion. */
interface Proportion {
  count: number;
  frames: number;
  rate: number | null;
  low: number;
  high: number;
}

const percent = (value: number): string => `${(value * 100).toFixed(1)} %`;

function proportionText(p: Proportion | undefined): string {
  if (p === undefined) return '—';
  return `${p.count}/${p.frames}${p.rate === null ? '' : ` (${percent(p.rate)}, 95 % ${percent(p.low)}–${percent(p.high)})`}`;
}

const SET_NAMES: Record<string, string> = {
  heldOut: 'held-out validation frames',
  heldOutValidationFree: 'held out, validation-free thresholds',
  stream: 'stream normals (in-sample for the candidate)',
};

/** The loop-eval totals as table rows: false alarms and detection of parent and candidate per frame set. */
export function figureTable(figures: Record<string, unknown>): string[] {
  const rows = ['| frames | version | false alarms / normals | detected / defects |', '| --- | --- | --- | --- |'];
  for (const [set, name] of Object.entries(SET_NAMES)) {
    const part = figures[set] as Record<string, { falseAlarms?: Proportion; detected?: Proportion } | undefined> | undefined;
    if (part === undefined) continue;
    for (const role of ['parent', 'candidate']) rows.push(`| ${name} | ${role} | ${proportionText(part[role]?.falseAlarms)} | ${proportionText(part[role]?.detected)} |`);
  }
  if (figures['verdict'] !== undefined) rows.push('', `verdict: \`${JSON.stringify(figures['verdict'])}\``);
  return rows;
}

/** `replay of 57 reviewed frames: normals flagged 10 → 2 of 57, defects caught 0 → 0 of 0`. */
export function checkText(check: RetrainCheck): string {
  const { normals, defects } = check;
  return `replay of ${check.frames} reviewed frames: normals flagged ${normals.parentFlagged} → ${normals.candidateFlagged} of ${normals.reviewed}, defects caught ${defects.parentFlagged} → ${defects.candidateFlagged} of ${defects.reviewed} (report s3://${check.report.bucket}/${check.report.key})`;
}

function stepDetail(seen: StepSeen): string {
  const parts = [
    seen.snapshot === undefined ? '' : `snapshot ${seen.snapshot.slice(0, 12)}`,
    seen.version ?? '',
    seen.revision === undefined ? '' : `revision ${seen.revision}`,
    seen.reasons === undefined || seen.reasons.length === 0 ? '' : `reasons: ${seen.reasons.join('; ')}`,
    seen.code === undefined ? '' : `${seen.code}: ${seen.message ?? ''}`,
    seen.check === undefined ? '' : checkText(seen.check),
  ];
  return parts.filter((part) => part !== '').join(', ');
}

/** `12/40 frames  8 decided  ETA 45 s`: a progress line, the ETA from the rate so far. */
export function progressLine(what: string, done: number, total: number, elapsedSeconds: number): string {
  const rate = done / Math.max(elapsedSeconds, 0.001);
  const eta = done >= total ? 'done' : rate > 0 ? `ETA ${Math.ceil((total - done) / rate)} s` : 'ETA ?';
  return `${what} ${done}/${total}  ${Math.round(elapsedSeconds)} s  ${eta}`;
}
