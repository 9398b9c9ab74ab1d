import { LitElement, css, html, nothing } from 'lit';
import type { RetrainRequest } from '@loomwatch/contracts';
import { objectPath } from '../../src/object-path.js';
import { candidateOf, promotableStages, reasonText, replayCheckOf, replayCounts, retrainsInOrder, stepLine } from '../../src/retrain-view.js';
import { postJson } from './api.js';
import { base, formatDateTime } from './styles.js';

/** What the engineer last did here, and how it went. */
type Outcome = { ok: boolean; text: string };

/**
 * The model updates: each retrain request in force on the control topic — model, fabric, why, its
 * step line, the candidate, its times, and once replayed the counts and the replay report (through
 * the object proxy). Engineers promote a replayed candidate (`POST /api/retrain/promote`) and ask for
 * a refit (`POST /api/retrain/request`) here.
 */
export class ModelUpdatesPanel extends LitElement {
  static override properties = {
    retrains: { attribute: false },
    models: { attribute: false },
    csrfToken: { attribute: false },
    outcome: { state: true },
    busy: { state: true },
  };
  declare retrains: Record<string, RetrainRequest>;
  /** The models an engineer may ask a refit of (those deployed); none: the panel offers no actions. */
  declare models: string[];
  /** The session's CSRF token; empty for people who may not act here (not engineers). */
  declare csrfToken: string;
  declare outcome: Outcome | undefined;
  declare busy: boolean;
  static override styles = [
    base,
    css`
      :host { display: block; }
      section { display: flex; flex-direction: column; gap: 0.4rem; }
      ul.requests { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 0.5rem; }
      li.request { background: var(--panel-2); border-radius: 6px; padding: 0.45rem 0.55rem; font-size: 0.85rem; display: flex; flex-direction: column; gap: 0.3rem; }
      .row { display: flex; gap: 0.5rem; align-items: baseline; flex-wrap: wrap; }
      ol.steps { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.15rem 0.3rem; font-size: 0.8rem; }
      ol.steps li + li::before { content: '▸'; color: var(--muted); margin-right: 0.3rem; }
      ol.steps li[data-mark='todo'] { color: var(--muted); }
      ol.steps li[data-mark='reached'] span { font-weight: 700; color: var(--info); border: 1px solid currentColor; border-radius: 999px; padding: 0 0.35rem; }
      ul.reasons { margin: 0; padding-left: 1.1rem; }
      form { display: flex; flex-wrap: wrap; gap: 0.4rem; align-items: end; }
      label { display: flex; flex-direction: column; font-size: 0.8rem; color: var(--muted); gap: 0.15rem; }
      input { width: 9rem; }
      p { margin: 0; }
    `,
  ];

  constructor() {
    super();
    this.retrains = {};
    this.models = [];
    this.csrfToken = '';
    this.outcome = undefined;
    this.busy = false;
  }

  private async send(url: string, body: unknown, done: (published: unknown) => string): Promise<void> {
    this.busy = true;
    try {
      const { published } = await postJson<{ published: unknown }>(url, body, this.csrfToken);
      this.outcome = { ok: true, text: done(published) };
    } catch (err) {
      this.outcome = { ok: false, text: err instanceof Error ? err.message : String(err) };
    } finally {
      this.busy = false;
    }
  }

  private promote(event: SubmitEvent, key: string): void {
    event.preventDefault();
    const stage = (event.submitter as HTMLButtonElement | null)?.value;
    if (stage !== 'canary' && stage !== 'production') return;
    const where = new FormData(event.target as HTMLFormElement).get('where');
    const scope = (typeof where === 'string' ? where : '').split(/[\s,]+/).filter((s) => s !== '');
    const canary = stage === 'canary' ? { canaryLines: scope.filter((s) => !s.includes(':')), canaryCameras: scope.filter((s) => s.includes(':')) } : {};
    void this.send('api/retrain/promote', { key, stage, ...canary }, (published) => {
      const { deployment } = published as { deployment: { model: string; revision: number } };
      return `promoted to ${stage}: ${deployment.model} revision ${deployment.revision}`;
    });
  }

  private ask(event: SubmitEvent): void {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const [model, fabric] = ['model', 'fabric'].map((name) => {
      const value = data.get(name);
      return typeof value === 'string' ? value.trim() : '';
    });
    void this.send('api/retrain/request', { model, ...(fabric === '' ? {} : { fabric }) }, (published) => `asked for a refit: ${(published as { id: string }).id}`);
  }

  private renderRequest(key: string, request: RetrainRequest) {
    const line = stepLine(request.status);
    const candidate = candidateOf(request.status);
    const check = replayCheckOf(request.status);
    const stages = this.csrfToken === '' ? [] : promotableStages(request.status);
    const status = request.status;
    return html`<li class="request" data-retrain=${key} data-step=${status.step}>
      <div class="row">
        <strong>${request.model}</strong>
        <span>fabric ${request.fabric ?? 'all'}</span>
        <span class="muted" data-testid="retrain-why">${reasonText(request.reason, request.requestedBy)}</span>
      </div>
      <ol class="steps" aria-label="steps" data-testid="retrain-steps">
        ${line.steps.map((s) => html`<li data-mark=${s.mark} aria-current=${s.mark === 'reached' ? 'step' : 'false'}><span>${s.step}${s.mark === 'done' ? ' ✓' : ''}</span></li>`)}
      </ol>
      ${line.end?.step === 'refused'
        ? html`<div class="defect" data-testid="retrain-end"><strong>refused</strong> by the refit's gate${line.end.reasons.length === 0 ? nothing : html`<ul class="reasons">${line.end.reasons.map((r) => html`<li>${r}</li>`)}</ul>`}</div>`
        : line.end?.step === 'failed'
          ? html`<div class="defect" data-testid="retrain-end"><strong>failed</strong> ${line.end.code}: ${line.end.message}</div>`
          : nothing}
      <div class="row muted">
        ${candidate === undefined ? nothing : html`<span>candidate <strong class="info" data-testid="retrain-candidate">${candidate}</strong></span>`}
        ${status.step === 'promoted' ? html`<span data-testid="retrain-promoted">in ${status.stage} from revision ${status.revision}, by ${status.by}</span>` : nothing}
        <span>requested ${formatDateTime(request.requestedAt)}</span>
        <span>updated ${formatDateTime(request.updatedAt)}</span>
      </div>
      ${check === undefined
        ? nothing
        : html`<div data-testid="retrain-replay">
            <div>${replayCounts(check).normals}</div>
            <div>${replayCounts(check).defects}</div>
            <a href=${objectPath(check.report)} target="_blank" rel="noopener" data-testid="replay-report">replay report</a>
            <span class="muted">(${check.frames} reviewed frames replayed on ${check.replayTopic})</span>
          </div>`}
      ${status.step === 'replayed' && status.reasons.length > 0 ? html`<div class="muted">not promoted automatically: ${status.reasons.join('; ')}</div>` : nothing}
      ${stages.length === 0
        ? nothing
        : html`<form aria-label="promote ${request.model} ${candidate ?? ''}" data-testid="promote" @submit=${(e: SubmitEvent) => this.promote(e, key)}>
            ${stages.includes('canary') ? html`<label>canary on (lines, line:camera)<input name="where" placeholder="line-1, line-2:cam-1" /></label>` : nothing}
            ${stages.map((stage) => html`<button type="submit" value=${stage} ?disabled=${this.busy}>Promote to ${stage}</button>`)}
          </form>`}
    </li>`;
  }

  override render() {
    const requests = retrainsInOrder(this.retrains);
    return html`<section aria-labelledby="updates-title" class="panel" data-testid="model-updates">
      <h2 id="updates-title">Model updates</h2>
      ${requests.length === 0
        ? html`<p class="muted">No retrain request on the control topic.</p>`
        : html`<ul class="requests" aria-label="retrain requests">${requests.map(({ key, request }) => this.renderRequest(key, request))}</ul>`}
      ${this.csrfToken === '' || this.models.length === 0
        ? nothing
        : html`<form aria-label="ask for a refit" data-testid="ask-refit" @submit=${(e: SubmitEvent) => this.ask(e)}>
            <label>model<select name="model">${this.models.map((m) => html`<option value=${m}>${m}</option>`)}</select></label>
            <label>fabric (empty: all)<input name="fabric" placeholder="05" /></label>
            <button type="submit" ?disabled=${this.busy}>Ask for a refit</button>
          </form>`}
      ${this.outcome === undefined ? nothing : html`<p role="status" data-testid="model-updates-status" class=${this.outcome.ok ? 'ok' : 'defect'}>${this.outcome.text}</p>`}
    </section>`;
  }
}
customElements.define('lw-model-updates', ModelUpdatesPanel);

declare global {
  interface HTMLElementTagNameMap {
    'lw-model-updates': ModelUpdatesPanel;
  }
}
