import { css } from 'lit';

/** Colours chosen for at least 4.5:1 contrast on the dark background. */
export const base = css`
  :host {
    --bg: #0f1419;
    --panel: #161d26;
    --panel-2: #1d2630;
    --border: #2f3b48;
    --text: #e6edf3;
    --muted: #a9b6c3;
    --ok: #4cc38a;
    --defect: #ff7b72;
    --warning: #f2cc60;
    --info: #79c0ff;
    --focus: #ffd866;
    color: var(--text);
    font: inherit;
  }
  *, *::before, *::after { box-sizing: border-box; }
  a { color: var(--info); }
  a:focus-visible, button:focus-visible, select:focus-visible, input:focus-visible, [tabindex]:focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  button, select, input {
    font: inherit;
    color: var(--text);
    background: var(--panel-2);
    border: 1px solid var(--border);
    border-radius: 6px;
    padding: 0.3rem 0.6rem;
    min-height: 2.25rem;
  }
  button { cursor: pointer; }
  button:disabled { opacity: 0.6; cursor: default; }
  h2 { font-size: 1rem; margin: 0 0 0.5rem; }
  h3 { font-size: 0.95rem; margin: 0 0 0.35rem; }
  .muted { color: var(--muted); }
  .badge {
    display: inline-block;
    padding: 0.05rem 0.5rem;
    border-radius: 999px;
    font-size: 0.8rem;
    font-weight: 600;
    border: 1px solid currentColor;
    white-space: nowrap;
  }
  .ok { color: var(--ok); }
  .defect, .critical, .drifting { color: var(--defect); }
  .warning { color: var(--warning); }
  .info { color: var(--info); }
  .panel {
    background: var(--panel);
    border: 1px solid var(--border);
    border-radius: 8px;
    padding: 0.75rem;
  }
  table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
  th, td { text-align: left; padding: 0.25rem 0.4rem; border-bottom: 1px solid var(--border); vertical-align: top; }
  th { color: var(--muted); font-weight: 600; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString(undefined, { hour12: false });
}

export function formatDateTime(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { hour12: false });
}
