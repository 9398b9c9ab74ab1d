/**
 * How the model panel reads a retrain request: its step line, why it was asked for, its candidate,
 * its replay's counts and what an engineer may do with it. Pure, and shared with the page, so it
 * imports types only.
 *
 * Glossary: step line — the steps a request goes through, requested ▸ snapshot ▸ refit ▸ candidate ▸
 * shadow ▸ replayed ▸ promoted, each done, reached or still to come · end — `refused` (the refit's
 * gate) or `failed`, which stop the line where they happen.
 */
import type { ReplayCheck, RetrainReason, RetrainRequest, RetrainStatus } from '@loomwatch/contracts';

/** The steps of a request that goes all the way, in order. */
export const RETRAIN_STEPS = ['requested', 'snapshot', 'refit', 'candidate', 'shadow', 'replayed', 'promoted'] as const;
export type RetrainLineStep = (typeof RETRAIN_STEPS)[number];

export interface StepMark {
  step: RetrainLineStep;
  /** `done`: passed; `reached`: where the request stands; `todo`: not reached (or never, after an end). */
  mark: 'done' | 'reached' | 'todo';
}

/** The step line of a status, and the end it met, if any. */
export interface StepLine {
  steps: StepMark[];
  end?: { step: 'refused'; reasons: string[] } | { step: 'failed'; code: string; message: string };
}

/**
 * The step line of `status`. A refused request passed its refit (the gate refused the version it
 * made), so its line is done up to the refit; a failed one does not say where it failed, so its line
 * marks nothing.
 */
export function stepLine(status: RetrainStatus): StepLine {
  const marks = (reachedAt: number, reached: boolean): StepMark[] =>
    RETRAIN_STEPS.map((step, i) => ({ step, mark: i < reachedAt || (i === reachedAt && !reached) ? 'done' : i === reachedAt && reached ? 'reached' : 'todo' }));
  if (status.step === 'refused') return { steps: marks(RETRAIN_STEPS.indexOf('refit'), false), end: { step: 'refused', reasons: status.reasons } };
  if (status.step === 'failed') return { steps: marks(-1, false), end: { step: 'failed', code: status.code, message: status.message } };
  return { steps: marks(RETRAIN_STEPS.indexOf(status.step), true) };
}

/** Why the refit was asked for, in words: "12 false alarms reviewed", "drift alert a-1", "asked by Erin Engineer". */
export function reasonText(reason: RetrainReason, requestedBy: string): string {
  switch (reason.kind) {
    case 'false-alarms':
      return `${reason.count} false alarm${reason.count === 1 ? '' : 's'} reviewed`;
    case 'drift':
      return `drift alert ${reason.alertId}`;
    case 'manual':
      return `asked by ${requestedBy}`;
  }
}

/** The candidate version, from the step that named it on. */
export function candidateOf(status: RetrainStatus): string | undefined {
  return 'version' in status ? status.version : undefined;
}

/** The replay's check, once replayed (a promotion keeps it). */
export function replayCheckOf(status: RetrainStatus): ReplayCheck | undefined {
  return status.step === 'replayed' || status.step === 'promoted' ? status.check : undefined;
}

/** The replay's counts in words: normals still flagged, and defects caught, parent → candidate. */
export function replayCounts(check: ReplayCheck): { normals: string; defects: string } {
  const { normals, defects } = check;
  return {
    normals: `normals flagged, parent → candidate: ${normals.parentFlagged} → ${normals.candidateFlagged} of ${normals.reviewed} reviewed`,
    defects: `defects caught, parent → candidate: ${defects.parentFlagged} → ${defects.candidateFlagged} of ${defects.reviewed} reviewed`,
  };
}

/** The stages an engineer may promote the request's candidate to now (what `POST /api/retrain/promote` accepts). */
export function promotableStages(status: RetrainStatus): Array<'canary' | 'production'> {
  if (status.step === 'replayed') return ['canary', 'production'];
  if (status.step === 'promoted' && status.stage === 'canary') return ['production'];
  return [];
}

/** The requests to show: the one running first, then the latest update first. */
export function retrainsInOrder(retrains: Readonly<Record<string, RetrainRequest>>): Array<{ key: string; request: RetrainRequest }> {
  const finished = new Set(['refused', 'failed', 'replayed', 'promoted']);
  return Object.entries(retrains)
    .map(([key, request]) => ({ key, request }))
    .sort(
      (a, b) =>
        Number(finished.has(a.request.status.step)) - Number(finished.has(b.request.status.step)) ||
        Date.parse(b.request.updatedAt) - Date.parse(a.request.updatedAt) ||
        a.key.localeCompare(b.key),
    );
}
