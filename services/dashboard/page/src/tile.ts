import { LitElement, css, html, nothing } from 'lit';
import { objectPath } from '../../src/object-path.js';
import { calibrationOf, defectRate, describeCalibration, formatRate, latestVerdict, type CameraView, type VerdictPoint } from '../../src/view.js';
import type { GroupQuality } from '@loomwatch/quality';
import { frameHash } from './frame-hash.js';
import { qualityBadge } from './quality.js';
import type { Alert, DriftEvent } from '@loomwatch/contracts';
import { base, formatTime } from './styles.js';
import './sparkline.js';

/** One camera: its latest verdict with the overlay thumbnail, the sparkline of its last frames, its drift. */
export class CameraTile extends LitElement {
  static override properties = { camera: { attribute: false }, drift: { attribute: false }, alerts: { attribute: false }, quality: { attribute: false }, capacity: { type: Number } };
  declare camera: CameraView;
  declare drift: DriftEvent[];
  /** Open alerts on this camera or its whole line. */
  declare alerts: Alert[];
  declare capacity: number;
  /** The camera's quality from the reviews, when any. */
  declare quality: GroupQuality | undefined;

  static override styles = [
    base,
    css`
      :host { display: block; }
      article { height: 100%; display: flex; flex-direction: column; gap: 0.4rem; }
      header { display: flex; align-items: baseline; gap: 0.5rem; }
      header h3 { margin-right: auto; }
      a.frame { display: block; border-radius: 6px; overflow: hidden; background: #0b1015; aspect-ratio: 4 / 1; }
      a.frame img { display: block; width: 100%; height: 100%; object-fit: cover; }
      dl { display: grid; grid-template-columns: auto 1fr; gap: 0.1rem 0.5rem; margin: 0; font-size: 0.85rem; }
      dt { color: var(--muted); }
      dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
      .rate { font-size: 0.8rem; }
    `,
  ];

  constructor() {
    super();
    this.drift = [];
    this.alerts = [];
    this.capacity = 60;
  }

  override render() {
    const latest = latestVerdict(this.camera);
    const { lineId, cameraId } = this.camera;
    const drifting = this.drift.filter((d) => d.status === 'drifting');
    const calibration = calibrationOf(latest);
    return html`<article class="panel" aria-label="camera ${cameraId} of line ${lineId}" data-camera="${lineId}:${cameraId}">
      <header>
        <h3>${cameraId}</h3>
        ${this.alerts.length === 0
          ? nothing
          : html`<span class="badge ${this.alerts.some((a) => a.severity === 'critical') ? 'critical' : 'warning'}" data-testid="tile-alerts"
              title=${this.alerts.map((a) => a.message).join('\n')}>${this.alerts.some((a) => a.stopLine === true) ? 'STOP LINE' : `${this.alerts.length} alert${this.alerts.length === 1 ? '' : 's'}`}</span>`}
        <span class="badge ${latest.verdict}" data-testid="verdict">${latest.verdict === 'defect' ? 'DEFECT' : 'ok'}</span>
      </header>
      <a class="frame" href=${frameHash(latest)} aria-label="open frame ${latest.frameId} of ${cameraId}">
        <img src=${objectPath(latest.overlay)} alt="overlay of frame ${latest.frameId}" decoding="async" />
      </a>
      <dl>
        <dt>frame</dt><dd data-testid="frame-id">${latest.frameId}</dd>
        <dt>score</dt><dd>${latest.score.toFixed(3)}</dd>
        <dt>threshold</dt>
        <dd data-testid="calibration" title=${calibrationTitle(calibration)}>${calibration.threshold.toFixed(3)} <span class="muted">${describeCalibration(calibration)}</span></dd>
        <dt>regions</dt><dd>${latest.regions.length}</dd>
        <dt>model</dt><dd>${latest.model.name}@${latest.model.version}</dd>
        <dt>decided</dt><dd>${formatTime(latest.decidedAt)}</dd>
        <dt>drift</dt>
        <dd data-testid="drift">
          ${this.drift.length === 0
            ? html`<span class="muted">not judged</span>`
            : drifting.length > 0
              ? html`<span class="drifting">drifting (${drifting.flatMap((d) => d.tripped).join(', ')})</span>`
              : html`<span class="ok">ok</span>`}
        </dd>
      </dl>
      <lw-sparkline .verdicts=${this.camera.recent} capacity=${this.capacity} .hrefOf=${(v: VerdictPoint) => frameHash({ lineId, cameraId, ...v })}></lw-sparkline>
      <span class="muted rate">defect rate ${(defectRate(this.camera) * 100).toFixed(0)} % of ${this.camera.recent.length}</span>
      ${qualityBadge(this.quality)}
    </article>`;
  }
}
customElements.define('lw-camera-tile', CameraTile);

/** The long form of a tile's calibration, for its tooltip. */
function calibrationTitle(calibration: ReturnType<typeof calibrationOf>): string {
  const whose = calibration.fabric === null ? "the model's pooled threshold" : `the model's threshold for fabric ${calibration.fabric}`;
  const rate = calibration.falseAlarmRate === undefined ? 'the model states no false-alarm rate for it' : `set so that about ${formatRate(calibration.falseAlarmRate)} of normal frames score above it`;
  return `The latest frame was judged by ${whose}, ${rate}.`;
}

declare global {
  interface HTMLElementTagNameMap {
    'lw-camera-tile': CameraTile;
  }
}
