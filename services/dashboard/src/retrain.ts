/**
 * What engineers do with retrain requests from the dashboard: promote a replayed candidate
 * (`POST /api/retrain/promote`) — the next deployment revision on control.v1, as `loomwatch rollout
 * set` builds it, then the request's `promoted` record — and ask for a refit
 * (`POST /api/retrain/request`) — a `requested` record, as `loomwatch retrain request` publishes it.
 * The records are built here, pure, from the view the dashboard follows; `control-topic.ts` sends them.
 *
 * Glossary: retrain key — `retrain:<model>:<fabric|all>`, where the control topic keeps a model's
 * (and fabric's) request in force · candidate — the version the request's refit made · stage —
 * where a promotion puts the candidate: `canary` (some lines or cameras) or `production`.
 */
import { z } from 'zod';
import { Id, LoomwatchError, RetrainRequest, manualRetrainRequest, nextDeployment, retrainKey, retrainPending, type Deployment, type DeploymentChange } from '@loomwatch/contracts';
import { HttpProblem } from './problem.js';

/** A fabric code, as the contract's retrain request names one. */
const FabricCode = z.string().min(1).max(32).regex(/^[A-Za-z0-9._-]+$/, 'a fabric code (letters, digits, ".", "_" or "-")');
/** `line:camera`, as a deployment's canary names cameras. */
const CameraRef = z.string().regex(/^[A-Za-z0-9._-]{1,128}:[A-Za-z0-9._-]{1,128}$/, 'a camera as line:camera');

/** `POST /api/retrain/promote`'s body: which request (by its key or its id), to which stage, and for a canary where. */
export const PromoteBody = z
  .strictObject({
    /** The request's control key, `retrain:<model>:<fabric|all>`. */
    key: z.string().min(1).max(300).optional(),
    /** The request's id. */
    id: Id.optional(),
    stage: z.enum(['canary', 'production']),
    /** Lines the canary decides (stage canary). */
    canaryLines: z.array(Id).max(256).optional(),
    /** Cameras (`line:camera`) the canary decides (stage canary). */
    canaryCameras: z.array(CameraRef).max(1024).optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.key === undefined) === (body.id === undefined)) ctx.addIssue({ code: 'custom', path: ['key'], message: 'name the request by "key" or by "id" (one of them)' });
    const scope = (body.canaryLines?.length ?? 0) + (body.canaryCameras?.length ?? 0);
    if (body.stage === 'canary' && scope === 0) ctx.addIssue({ code: 'custom', path: ['canaryLines'], message: 'a canary needs canaryLines or canaryCameras: otherwise it decides nothing' });
    if (body.stage === 'production' && scope > 0) ctx.addIssue({ code: 'custom', path: ['canaryLines'], message: 'production decides every line: canaryLines and canaryCameras are for stage canary' });
  });
export type PromoteBody = z.infer<typeof PromoteBody>;

/** `POST /api/retrain/request`'s body: the model to refit, on one fabric's reviews or (no fabric) on all. */
export const AskBody = z.strictObject({ model: Id, fabric: FabricCode.optional() });
export type AskBody = z.infer<typeof AskBody>;

/** The body parsed by `schema`, or 400 `BODY_INVALID` naming the field and what to send. */
function parseBody<T>(schema: z.ZodType<T>, body: unknown, example: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'the body' : issue.path.join('.');
  throw new HttpProblem('BODY_INVALID', 400, `${where}: ${issue?.message ?? 'not valid'} — send ${example}`);
}

export function parsePromoteBody(body: unknown): PromoteBody {
  return parseBody(PromoteBody, body, '{ "key": "retrain:<model>:<fabric|all>" (or "id"), "stage": "canary" | "production", "canaryLines"?: ["line-1"], "canaryCameras"?: ["line-1:cam-2"] }');
}

export function parseAskBody(body: unknown): AskBody {
  return parseBody(AskBody, body, '{ "model": "patchcore-aitex", "fabric"?: "05" }');
}

/** The request in force named by `key` or `id`, with its key; 404 `RETRAIN_NOT_FOUND` when the control topic holds none. */
export function findRetrain(retrains: Readonly<Record<string, RetrainRequest>>, which: { key?: string | undefined; id?: string | undefined }): { key: string; request: RetrainRequest } {
  const found: [string, RetrainRequest | undefined] | undefined = which.key !== undefined ? [which.key, retrains[which.key]] : Object.entries(retrains).find(([, request]) => request.id === which.id);
  const [key, request] = found ?? [];
  if (key === undefined || request === undefined) {
    const named = which.key !== undefined ? `under ${which.key}` : `with id ${which.id ?? ''}`;
    throw new HttpProblem('RETRAIN_NOT_FOUND', 404, `no retrain request ${named} on the control topic (a newer request of the same model and fabric replaces an older one): reload the page for the requests in force`);
  }
  return { key, request };
}

/** The records a promotion publishes, in this order. */
export interface Promotion {
  deployment: Deployment;
  record: RetrainRequest;
}

/**
 * Promotes the request's candidate: from `replayed` to canary or production, or from `promoted`
 * canary to production. The deployment in force gets the candidate as production (its canary and
 * shadow end where they are the candidate) or as canary on the lines and cameras given (its shadow
 * ends where it is the candidate); the request's next record is `promoted` at that revision, `by`
 * the engineer. 409 `RETRAIN_NOT_PROMOTABLE` from any other step, 409 `NO_DEPLOYMENT` when the
 * model has no deployment on the control topic.
 */
export function promotionOf(request: RetrainRequest, deployments: Readonly<Record<string, Deployment>>, body: PromoteBody, by: string, now: Date): Promotion {
  const status = request.status;
  const fromCanary = status.step === 'promoted' && status.stage === 'canary' && body.stage === 'production';
  if (status.step !== 'replayed' && !fromCanary) {
    const what =
      status.step === 'promoted'
        ? `its candidate ${status.version} is in ${status.stage} already`
        : `it is at step ${status.step}: only a replayed candidate is promoted (a canary then to production)`;
    throw new HttpProblem('RETRAIN_NOT_PROMOTABLE', 409, `retrain request ${request.id} cannot be promoted to ${body.stage}: ${what}`);
  }
  const current = deployments[request.model];
  if (current === undefined) {
    throw new HttpProblem('NO_DEPLOYMENT', 409, `no deployment of ${request.model} on the control topic to promote ${status.version} in: publish one with \`loomwatch rollout set --model ${request.model} --production <version>\``);
  }
  const version = status.version;
  const endShadow = current.shadow?.version === version ? { shadow: null } : {};
  const reason = `retrain ${request.id}: ${version} promoted to ${body.stage} by ${by} on the dashboard`;
  const change: DeploymentChange =
    body.stage === 'production'
      ? { production: version, ...endShadow, ...(current.canary?.version === version ? { canary: null } : {}), reason }
      : { canary: { version, lines: body.canaryLines ?? [], cameras: body.canaryCameras ?? [] }, ...endShadow, reason };
  let deployment: Deployment;
  try {
    deployment = nextDeployment(request.model, current, undefined, change, now);
  } catch (err) {
    if (err instanceof LoomwatchError && err.code === 'DEPLOYMENT_INVALID') throw new HttpProblem('BODY_INVALID', 400, err.message);
    throw err;
  }
  const check = status.check;
  const record = RetrainRequest.parse({
    ...request,
    status: { step: 'promoted', snapshot: status.snapshot, version, revision: deployment.revision, ...(check === undefined ? {} : { check }), stage: body.stage, by },
    updatedAt: now.toISOString(),
  });
  return { deployment, record };
}

/**
 * A person's request for a refit of `model` (on `fabric`'s reviews, or all), as `loomwatch retrain
 * request` makes it; 409 `RETRAIN_PENDING` while the request in force under its key is still running,
 * 409 `NO_DEPLOYMENT` for a model the control topic knows nothing of (no deployment, no request).
 */
export function manualRequest(ask: AskBody, retrains: Readonly<Record<string, RetrainRequest>>, deployments: Readonly<Record<string, Deployment>>, by: string, now: Date): { key: string; record: RetrainRequest } {
  const key = retrainKey(ask.model, ask.fabric);
  const inForce = retrains[key];
  if (inForce !== undefined && retrainPending(inForce)) {
    throw new HttpProblem('RETRAIN_PENDING', 409, `retrain request ${inForce.id} of ${key} is still at step ${inForce.status.step}: wait until it is replayed, refused or failed, then ask again`);
  }
  const known = Object.hasOwn(deployments, ask.model) || Object.values(retrains).some((r) => r.model === ask.model);
  if (!known) {
    throw new HttpProblem('NO_DEPLOYMENT', 409, `no deployment of ${ask.model} on the control topic: the retrainer puts a candidate in shadow beside a deployment — name a model the serving panel lists, or use \`loomwatch retrain request\``);
  }
  const parsed = RetrainRequest.safeParse(manualRetrainRequest(ask.model, ask.fabric, by, now));
  if (!parsed.success) throw new HttpProblem('BODY_INVALID', 400, `the model name is too long for a request id (${parsed.error.issues[0]?.message ?? 'not valid'}): at most 128 characters with the fabric and time`);
  return { key, record: parsed.data };
}
