/**
 * The page's copy of the view: the server's snapshot, then its deltas applied with the same
 * reducer the server runs. EventSource reconnects by itself; each reconnection starts with a
 * fresh snapshot.
 */
import { signInAgain } from './api.js';
import { applyEvent, emptyView, DEFAULT_LIMITS, type ViewEvent, type ViewLimits, type ViewState } from '../../src/view.js';

export type Connection = 'connecting' | 'live' | 'reconnecting';

interface Snapshot {
  limits: ViewLimits;
  state: ViewState;
  serverTime: string;
}

export class LiveView extends EventTarget {
  state: ViewState = emptyView();
  limits: ViewLimits = DEFAULT_LIMITS;
  connection: Connection = 'connecting';
  /** When the last snapshot or delta arrived. */
  updatedAt: Date | undefined;
  private source: EventSource | undefined;

  connect(url = 'api/events'): void {
    this.source?.close();
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener('snapshot', (message: MessageEvent<string>) => {
      const snapshot = JSON.parse(message.data) as Snapshot;
      this.limits = snapshot.limits;
      this.state = snapshot.state;
      this.connection = 'live';
      this.changed();
    });
    source.addEventListener('delta', (message: MessageEvent<string>) => {
      this.state = applyEvent(this.state, JSON.parse(message.data) as ViewEvent, this.limits);
      this.changed();
    });
    source.addEventListener('error', () => {
      this.connection = 'reconnecting';
      this.dispatchEvent(new Event('change'));
      // A closed source (the server refused it) does not retry on its own; a session that ended signs in again.
      if (source.readyState === EventSource.CLOSED) {
        void fetch('api/me').then((res) => (res.status === 401 ? signInAgain() : setTimeout(() => this.connect(url), 3000)));
      }
    });
  }

  close(): void {
    this.source?.close();
  }

  private changed(): void {
    this.updatedAt = new Date();
    this.dispatchEvent(new Event('change'));
  }
}
