/**
 * One retrain request from the step it stands at to its end, one step at a time: every step's
 * outcome is published before the next starts, so a runner that restarts continues from the last
 * published step and never redoes one that was recorded as done.
 */
import { LoomwatchError, RetrainRequest, retrainPending, toLoomwatchError, type ReplayCheck, type RetrainStatus } from '@loomwatch/contracts';
import { GUARD_PROMOTER, GuardConfig, judgeCandidate } from './guard.js';

/** What the refit said: a candidate that passed its gate, or the gate's reasons for refusing it. */
export type RefitOutcome = { passed: true } | { passed: false; reasons: string[] };

/** The work behind each step; the runner only orders it and records the outcomes. */
export interface RetrainSteps {
  /** Freezes the reviews into a data set snapshot; its id. */
  snapshot(request: RetrainRequest): Promise<string>;
  /** The production version the candidate is refit from, as `name@version`. */
  parent(model: string): Promise<string>;
  /** Pulls the snapshot and refits `parent` on it into `version` (`name@version`). */
  refit(input: { snapshot: string; parent: string; version: string }): Promise<RefitOutcome>;
  /** Publishes the next deployment of `model` with `version` in shadow; its revision. */
  shadow(model: string, version: string, reason: string): Promise<number>;
  /** Replays the snapshot's reviewed frames with `version`, stores the report; what it found. */
  replay(input: { request: RetrainRequest; snapshot: string; version: string }): Promise<ReplayCheck>;
  /** Publishes the next deployment of `model` with `version` as canary on those lines and cameras; its revision. */
  canary(model: string, version: string, where: { lines: string[]; cameras: string[] }, reason: string): Promise<number>;
}

/** How the runner decides what the steps cannot: the promotion guard. */
export interface RunOptions {
  /** @defaultValue no guard (`stage: 'none'`): every candidate stops at `replayed`. */
  guard?: GuardConfig;
  now?: () => Date;
}

const NO_GUARD = GuardConfig.parse({});

/** The candidate's registry reference: the parent's model, its version with the snapshot's mark. */
export function candidateVersion(parent: string, snapshot: string): string {
  return `${parent}-refit.${snapshot.slice(0, 8)}`;
}

/** The status after the one the request stands at, doing that step's work. */
export async function nextStatus(request: RetrainRequest, steps: RetrainSteps, guard: GuardConfig = NO_GUARD): Promise<RetrainStatus> {
  const status = request.status;
  switch (status.step) {
    case 'requested':
      return { step: 'snapshot', snapshot: await steps.snapshot(request) };
    case 'snapshot':
      return { step: 'refit', snapshot: status.snapshot, version: candidateVersion(await steps.parent(request.model), status.snapshot) };
    case 'refit': {
      const parent = status.version.replace(/-refit\.[^-]*$/, '');
      const outcome = await steps.refit({ snapshot: status.snapshot, parent, version: status.version });
      return outcome.passed
        ? { step: 'candidate', snapshot: status.snapshot, version: status.version }
        : { step: 'refused', snapshot: status.snapshot, version: status.version, reasons: outcome.reasons };
    }
    case 'candidate': {
      const reason = `retrain ${request.id}: ${status.version} refit from snapshot ${status.snapshot} (${describeReason(request)})`;
      return { step: 'shadow', snapshot: status.snapshot, version: status.version, revision: await steps.shadow(request.model, status.version, reason) };
    }
    case 'shadow': {
      const { snapshot, version, revision } = status;
      const check = await steps.replay({ request, snapshot, version });
      const decision = judgeCandidate(check, guard);
      if (!decision.promote) return { step: 'replayed', snapshot, version, revision, check, reasons: decision.reasons };
      const why = `retrain ${request.id}: the guard put ${version} into canary (flags ${check.normals.candidateFlagged} of ${check.normals.reviewed} reviewed normals, the reviewed verdicts ${check.normals.parentFlagged}; catches ${check.defects.candidateFlagged} of ${check.defects.reviewed} reviewed defects)`;
      const promoted = await steps.canary(request.model, version, decision.canary, why);
      return { step: 'promoted', snapshot, version, revision: promoted, check, stage: 'canary', by: GUARD_PROMOTER };
    }
    case 'refused':
    case 'failed':
    case 'replayed':
    case 'promoted':
      throw new LoomwatchError('RETRAIN_INVALID', `request ${request.id} is ${status.step}: nothing more to do`);
  }
}

function describeReason(request: RetrainRequest): string {
  const reason = request.reason;
  switch (reason.kind) {
    case 'false-alarms':
      return `${reason.count} new false alarms on fabric ${request.fabric ?? 'all'}`;
    case 'drift':
      return `drift alert ${reason.alertId}`;
    case 'manual':
      return `asked by ${request.requestedBy}`;
  }
}

/**
 * Runs the request to its end (`replayed`, `promoted`, `refused` or `failed`), publishing the record after every step. A
 * step that throws ends the request as `failed` with the error's code and message; a failure to
 * publish is thrown (the step is redone by the next run, as nothing recorded it as done).
 */
export async function runRequest(request: RetrainRequest, steps: RetrainSteps, publish: (request: RetrainRequest) => Promise<void>, options: RunOptions = {}): Promise<RetrainRequest> {
  const now = options.now ?? (() => new Date());
  let current = request;
  while (retrainPending(current)) {
    let status: RetrainStatus;
    try {
      status = await nextStatus(current, steps, options.guard);
    } catch (err) {
      const error = toLoomwatchError(err);
      status = { step: 'failed', code: error.code, message: error.message };
    }
    current = RetrainRequest.parse({ ...current, status, updatedAt: now().toISOString() });
    await publish(current);
  }
  return current;
}
