import { LitElement, css, svg, html } from 'lit';
import type { VerdictPoint } from '../../src/view.js';

/** A camera's last verdicts as bars (height: normalised score; colour and pattern: the verdict), with the defect rate. */
export class Sparkline extends LitElement {
  static override properties = { verdicts: { attribute: false }, capacity: { type: Number }, hrefOf: { attribute: false } };
  declare verdicts: VerdictPoint[];
  declare capacity: number;
  /** Where a bar links to (its frame's view); the bars are for the mouse, out of the tab order (the tile's link is the keyboard's). */
  declare hrefOf: ((verdict: VerdictPoint) => string) | undefined;

  static override styles = css`
    :host { display: block; }
    svg { display: block; width: 100%; height: 32px; background: #0b1015; border-radius: 4px; }
    .ok { fill: #4cc38a; }
    .defect { fill: #ff7b72; }
  `;

  constructor() {
    super();
    this.verdicts = [];
    this.capacity = 60;
    this.hrefOf = undefined;
  }

  override render() {
    const n = Math.max(this.capacity, this.verdicts.length, 1);
    const offset = n - this.verdicts.length;
    const defects = this.verdicts.filter((v) => v.verdict === 'defect').length;
    const rate = this.verdicts.length === 0 ? 0 : defects / this.verdicts.length;
    const label = `defect rate ${(rate * 100).toFixed(0)} % over the last ${this.verdicts.length} frames (${defects} defects)`;
    return html`<svg viewBox="0 0 ${n} 32" preserveAspectRatio="none" role="img" aria-label=${label}>
      <title>${label}</title>
      ${this.verdicts.map((v, i) => {
        const h = Math.max(2, Math.round(v.normalizedScore * 30));
        const bar = svg`<rect class=${v.verdict} x=${offset + i + 0.1} y=${32 - h} width="0.8" height=${h}><title>${v.frameId}: ${v.verdict}, score ${v.score.toFixed(3)}</title></rect>`;
        return this.hrefOf === undefined ? bar : svg`<a href=${this.hrefOf(v)} tabindex="-1" data-frame=${v.frameId}>${bar}</a>`;
      })}
    </svg>`;
  }
}
customElements.define('lw-sparkline', Sparkline);

declare global {
  interface HTMLElementTagNameMap {
    'lw-sparkline': Sparkline;
  }
}
