import { LitElement, css, html, nothing } from 'lit';
import type { GroupQuality, Proportion } from '@loomwatch/quality';
import { base } from './styles.js';

/** `GET /api/quality`. */
export interface QualityReport {
  countedSince: string;
  level: number;
  overall?: GroupQuality;
  cameras: GroupQuality[];
  groups: GroupQuality[];
}

function percent(value: number): string {
  return `${Number((value * 100).toPrecision(value < 0.1 ? 2 : 3))} %`;
}

/** "67 % [9.4–99 %] of 3": a proportion with its interval and how many frames it is measured on. */
export function describeProportion(p: Proportion | undefined): string {
  if (p === undefined) return '—';
  return `${percent(p.value)} [${percent(p.lower)}–${percent(p.upper)}] of ${p.trials}`;
}

/** A tile's badge: the camera's precision and coverage, in a few characters. */
export function qualityBadge(quality: GroupQuality | undefined) {
  if (quality === undefined || (quality.precision === undefined && quality.missRate === undefined)) return nothing;
  const precision = quality.precision;
  const low = precision !== undefined && precision.upper < 0.5;
  return html`<span class="badge ${low ? 'warning' : 'info'}" data-testid="quality-badge" title="precision of the defect verdicts (95 % interval, reviewed flagged frames); review coverage"
    >${precision === undefined ? 'precision —' : `precision ${percent(precision.value)} (${precision.trials})`}${quality.coverage === undefined ? '' : ` · ${percent(quality.coverage)} reviewed`}</span
  >`;
}

/** Production quality from the operators' reviews, per line, camera, fabric and model version. */
export class QualityPanel extends LitElement {
  static override properties = { report: { attribute: false } };
  declare report: QualityReport | undefined;
  static override styles = [
    base,
    css`
      :host { display: block; }
      td, th { font-size: 0.8rem; }
      p { margin: 0.25rem 0; font-size: 0.85rem; }
    `,
  ];

  override render() {
    const report = this.report;
    const overall = report?.overall;
    return html`<section class="panel" aria-labelledby="quality-title" data-testid="quality">
      <h2 id="quality-title">Quality from reviews</h2>
      ${report === undefined || overall === undefined
        ? html`<p class="muted">No review yet.</p>`
        : html`<p data-testid="quality-overall">
              precision <strong data-testid="quality-precision">${describeProportion(overall.precision)}</strong> · miss rate (sample)
              <strong data-testid="quality-miss-rate">${describeProportion(overall.missRate)}</strong> · coverage
              ${overall.coverage === undefined ? '—' : percent(overall.coverage)}
            </p>
            <table>
              <thead><tr><th scope="col">line / camera</th><th scope="col">fabric</th><th scope="col">model</th><th scope="col">precision</th><th scope="col">miss rate</th><th scope="col" class="num">reviewed</th></tr></thead>
              <tbody>
                ${report.groups.map(
                  (g) => html`<tr data-group=${g.key}>
                    <td>${g.group.lineId}/${g.group.cameraId}</td>
                    <td>${g.group.fabricCode === '' ? '—' : g.group.fabricCode}</td>
                    <td>${g.group.model?.version}</td>
                    <td>${describeProportion(g.precision)}</td>
                    <td>${describeProportion(g.missRate)}</td>
                    <td class="num">${g.counts.flagged.reviewed + g.counts.ok.reviewed}${g.coverage === undefined ? '' : ` (${percent(g.coverage)})`}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
            <p class="muted">${percent(report.level)} intervals (exact binomial); the miss rate counts only the randomly sampled ok frames; coverage counts verdicts since ${new Date(report.countedSince).toLocaleString(undefined, { hour12: false })}.</p>`}
    </section>`;
  }
}
customElements.define('lw-quality', QualityPanel);

declare global {
  interface HTMLElementTagNameMap {
    'lw-quality': QualityPanel;
  }
}
