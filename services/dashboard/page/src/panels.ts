import { LitElement, css, html, nothing } from 'lit';
import type { Alert, Deployment, DriftEvent } from '@loomwatch/contracts';
import { formatRate, openAlerts, type DeadLetterTally, type LagView, type ViewState } from '../../src/view.js';
import { base, formatDateTime, formatTime } from './styles.js';

const panelStyles = [
  base,
  css`
    :host { display: block; }
    section { display: flex; flex-direction: column; gap: 0.4rem; }
    ul { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 0.4rem; }
    li { background: var(--panel-2); border-radius: 6px; padding: 0.4rem 0.5rem; font-size: 0.85rem; }
    .row { display: flex; gap: 0.5rem; align-items: baseline; flex-wrap: wrap; }
    .stop { color: #0f1419; background: var(--defect); border-color: var(--defect); }
  `,
];

function alertWhere(alert: Alert): string {
  return alert.cameraId === undefined ? `${alert.lineId} (whole line)` : `${alert.lineId}/${alert.cameraId}`;
}

/** Open alerts (most severe first), then the last resolved ones. */
export class AlertsPanel extends LitElement {
  static override properties = { state: { attribute: false } };
  declare state: ViewState;
  static override styles = panelStyles;

  override render() {
    const open = openAlerts(this.state);
    const resolved = Object.values(this.state.alerts)
      .filter((a) => a.status === 'resolved')
      .sort((a, b) => Date.parse(b.resolvedAt ?? b.updatedAt) - Date.parse(a.resolvedAt ?? a.updatedAt))
      .slice(0, 5);
    const item = (a: Alert) =>
      html`<li data-alert-id=${a.alertId} data-status=${a.status}>
        <div class="row">
          <span class="badge ${a.severity}">${a.severity}</span>
          ${a.stopLine === true ? html`<span class="badge stop">STOP LINE</span>` : nothing}
          <strong>${a.rule}</strong>
          <span>${alertWhere(a)}</span>
          <span class="muted">${a.status === 'open' ? `open since ${formatTime(a.openedAt)}` : `resolved ${formatTime(a.resolvedAt)}`}</span>
        </div>
        <div>${a.message}</div>
      </li>`;
    return html`<section aria-labelledby="alerts-title" class="panel">
      <h2 id="alerts-title">Alerts <span class="muted">(${open.length} open)</span></h2>
      ${open.length === 0 ? html`<p class="muted" data-testid="no-open-alerts">No open alerts.</p>` : html`<ul aria-label="open alerts" data-testid="open-alerts">${open.map(item)}</ul>`}
      ${resolved.length === 0 ? nothing : html`<h3>Recently resolved</h3><ul aria-label="resolved alerts" data-testid="resolved-alerts">${resolved.map(item)}</ul>`}
    </section>`;
  }
}

/** Every deployment in force on the control topic: production, canary (and what it decides), per-fabric versions, the shadow. */
export class ServingPanel extends LitElement {
  static override properties = { deployments: { attribute: false } };
  declare deployments: Deployment[];
  static override styles = panelStyles;

  override render() {
    const sorted = [...this.deployments].sort((a, b) => a.model.localeCompare(b.model));
    return html`<section aria-labelledby="serving-title" class="panel">
      <h2 id="serving-title">Models serving</h2>
      ${sorted.length === 0
        ? html`<p class="muted">No deployment on the control topic: workers serve the model they were started with.</p>`
        : html`<table data-testid="serving">
            <thead><tr><th scope="col">model</th><th scope="col">production</th><th scope="col">canary</th><th scope="col">fabrics</th><th scope="col">shadow</th></tr></thead>
            <tbody>
              ${sorted.map((d) => {
                const scope = d.canary === undefined ? [] : [...d.canary.lines.map((line) => `line ${line}`), ...d.canary.cameras];
                return html`<tr>
                  <th scope="row">${d.model} <span class="muted">rev ${d.revision}</span></th>
                  <td>${d.production}</td>
                  <td>${d.canary === undefined ? '—' : `${d.canary.version} on ${scope.length === 0 ? 'nothing' : scope.join(', ')}`}</td>
                  <td>${Object.entries(d.fabrics).length === 0 ? '—' : Object.entries(d.fabrics).map(([fabric, version]) => `${fabric}: ${version}`).join(', ')}</td>
                  <td>${d.shadow === undefined || d.shadow.sample === 0 ? '—' : `${d.shadow.version} (${(d.shadow.sample * 100).toFixed(0)} %)`}</td>
                </tr>${d.operatingPoint === undefined
                  ? nothing
                  : html`<tr><td colspan="5" class="muted" data-testid="operating-point">${operatingPointText(d.operatingPoint)}</td></tr>`}`;
              })}
            </tbody>
          </table>`}
    </section>`;
  }
}

/** A deployment's false-alarm rates in force: "false alarms 2 % · line-2 1 %" ("card default" where it sets none). */
function operatingPointText(point: NonNullable<Deployment['operatingPoint']>): string {
  const lines = Object.entries(point.lines).map(([line, rate]) => ` · ${line} ${formatRate(rate)}`);
  return `false alarms ${point.falseAlarmRate === undefined ? 'card default' : formatRate(point.falseAlarmRate)}${lines.join('')}`;
}

/** Dead letters counted by reason code. */
export class DeadLettersPanel extends LitElement {
  static override properties = { tallies: { attribute: false } };
  declare tallies: DeadLetterTally[];
  static override styles = panelStyles;

  override render() {
    const sorted = [...this.tallies].sort((a, b) => b.count - a.count);
    return html`<section aria-labelledby="dlq-title" class="panel">
      <h2 id="dlq-title">Dead letters</h2>
      ${sorted.length === 0
        ? html`<p class="muted">No frame dead-lettered.</p>`
        : html`<table data-testid="dead-letters">
            <thead><tr><th scope="col">reason</th><th scope="col" class="num">frames</th><th scope="col">last</th></tr></thead>
            <tbody>
              ${sorted.map((t) => html`<tr><th scope="row">${t.code}</th><td class="num">${t.count}</td><td title=${t.lastMessage}>${formatDateTime(t.lastFailedAt)}<br /><span class="muted">${t.lastOrigin}</span></td></tr>`)}
            </tbody>
          </table>`}
    </section>`;
  }
}

/** The latest drift judgement per camera and fabric: status, what tripped, every measure against its threshold. */
export class DriftPanel extends LitElement {
  static override properties = { events: { attribute: false } };
  declare events: DriftEvent[];
  static override styles = panelStyles;

  override render() {
    const sorted = [...this.events].sort((a, b) => (a.status === b.status ? `${a.lineId}:${a.cameraId}`.localeCompare(`${b.lineId}:${b.cameraId}`) : a.status === 'drifting' ? -1 : 1));
    return html`<section aria-labelledby="drift-title" class="panel">
      <h2 id="drift-title">Drift</h2>
      ${sorted.length === 0
        ? html`<p class="muted">No drift judgement yet.</p>`
        : html`<ul data-testid="drift">
            ${sorted.map(
              (d) => html`<li data-drift=${`${d.lineId}:${d.cameraId}:${d.fabricCode ?? '-'}`} data-status=${d.status}>
                <div class="row">
                  <span class="badge ${d.status}">${d.status}</span>
                  <strong>${d.lineId}/${d.cameraId}</strong>
                  <span>fabric ${d.fabricCode ?? 'any'}</span>
                  <span class="muted">${d.window.frames} frames to ${formatTime(d.window.to)} · ${d.reference.model}@${d.reference.version} (${d.reference.scope})</span>
                </div>
                ${d.tripped.length === 0 ? nothing : html`<div>tripped: <strong>${d.tripped.join(', ')}</strong></div>`}
                <table>
                  <thead><tr><th scope="col">check</th><th scope="col" class="num">value</th><th scope="col" class="num">threshold</th><th scope="col" class="num">frames</th></tr></thead>
                  <tbody>
                    ${d.measures.map(
                      (m) => html`<tr class=${m.tripped ? 'drifting' : ''}><th scope="row">${m.check}${m.tripped ? ' (tripped)' : ''}</th><td class="num">${m.value.toFixed(3)}</td><td class="num">${m.threshold.toFixed(3)}</td><td class="num">${m.frames}</td></tr>`,
                    )}
                  </tbody>
                </table>
              </li>`,
            )}
          </ul>`}
    </section>`;
  }
}

/** The workers' consumer lag on the frames topic. */
export class LagPanel extends LitElement {
  static override properties = { lag: { attribute: false } };
  declare lag: LagView | undefined;
  static override styles = panelStyles;

  override render() {
    const lag = this.lag;
    return html`<section aria-labelledby="lag-title" class="panel">
      <h2 id="lag-title">Worker lag</h2>
      ${lag === undefined
        ? html`<p class="muted">Not measured yet.</p>`
        : html`<p data-testid="lag-total"><strong>${lag.total}</strong> frames behind <span class="muted">(group ${lag.groupId} on ${lag.topic}, ${formatTime(lag.measuredAt)})</span></p>
            ${lag.error === undefined ? nothing : html`<p class="warning" role="status">${lag.error.code}: ${lag.error.message}</p>`}
            ${lag.partitions.length === 0
              ? nothing
              : html`<table>
                  <thead><tr><th scope="col">partition</th><th scope="col" class="num">committed</th><th scope="col" class="num">high watermark</th><th scope="col" class="num">lag</th></tr></thead>
                  <tbody>${lag.partitions.map((p) => html`<tr><th scope="row">${p.partition}</th><td class="num">${p.committed ?? '—'}</td><td class="num">${p.high}</td><td class="num">${p.lag}</td></tr>`)}</tbody>
                </table>`}`}
    </section>`;
  }
}

customElements.define('lw-alerts', AlertsPanel);
customElements.define('lw-serving', ServingPanel);
customElements.define('lw-dead-letters', DeadLettersPanel);
customElements.define('lw-drift', DriftPanel);
customElements.define('lw-lag', LagPanel);

declare global {
  interface HTMLElementTagNameMap {
    'lw-alerts': AlertsPanel;
    'lw-serving': ServingPanel;
    'lw-dead-letters': DeadLettersPanel;
    'lw-drift': DriftPanel;
    'lw-lag': LagPanel;
  }
}
