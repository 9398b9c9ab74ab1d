/** The pull's progress line: frames done of all, bytes fetched, the rate and the time left. */

export interface PullProgress {
  /** Entries done (fetched or already on disk) of all. */
  done: number;
  total: number;
  /** Entries fetched from S3 by this run, and their bytes. */
  fetched: number;
  bytes: number;
  elapsedMs: number;
}

/** `4m31s`, `1h02m`, `12s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * `pull 3f9c0a1b2c3d: 120/400 frames (30.0 %) · 84.0 MB · 6.20 MB/s · ETA 31s`. The time left is
 * the frames left at the rate of the frames fetched so far (frames already on disk cost nothing).
 */
export function formatPullProgress(id: string, progress: PullProgress): string {
  const percent = progress.total === 0 ? 100 : (100 * progress.done) / progress.total;
  const seconds = progress.elapsedMs / 1000;
  const megabytes = progress.bytes / 1e6;
  const remaining = progress.total - progress.done;
  const perFrameMs = progress.fetched > 0 ? progress.elapsedMs / progress.fetched : undefined;
  const eta = remaining === 0 ? '0s' : perFrameMs === undefined ? '?' : formatDuration(remaining * perFrameMs);
  const rate = seconds > 0 ? `${(megabytes / seconds).toFixed(2)} MB/s` : '? MB/s';
  return `pull ${id.slice(0, 12)}: ${progress.done}/${progress.total} frames (${percent.toFixed(1)} %) · ${megabytes.toFixed(1)} MB · ${rate} · ETA ${eta}`;
}
