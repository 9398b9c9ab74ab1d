/**
 * What earlier runs left on the topics the demo reads. The demo counts only its own frames and
 * prints only the alerts it opens, but the dashboard shows the earlier alerts and last verdicts and
 * alerting takes up the alerts still open: so the demo says first what it found, and how to start
 * from empty topics.
 */
import { Alert, TOPICS, decodeMessage } from '@loomwatch/contracts';
import type { TopicReader } from '@loomwatch/kafka';

export interface EarlierRecords {
  frames: number;
  verdicts: number;
  /** Distinct alerts (an alert's revisions counted once). */
  alerts: number;
  /** Of those, the ones whose latest revision is open. */
  openAlerts: number;
}

/** Reads the committed records of frames.v1, verdicts.v1 and alerts.v1 up to their ends now. */
export async function earlierRecords(reader: TopicReader): Promise<EarlierRecords> {
  let frames = 0;
  let verdicts = 0;
  const alerts = new Map<string, Alert['status']>();
  await reader.readToEnd([TOPICS.frames, TOPICS.verdicts, TOPICS.alerts], (record) => {
    if (record.topic === TOPICS.frames) frames += 1;
    else if (record.topic === TOPICS.verdicts) verdicts += 1;
    else {
      try {
        const alert = decodeMessage(Alert, record.value);
        alerts.set(alert.alertId, alert.status);
      } catch {
        // Not an alert this version reads: alerting and the dashboard skip it too.
      }
    }
  });
  return { frames, verdicts, alerts: alerts.size, openAlerts: [...alerts.values()].filter((status) => status === 'open').length };
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** The demo's line about them. */
export function describeEarlierRecords(found: EarlierRecords): string {
  if (found.frames === 0 && found.verdicts === 0 && found.alerts === 0) {
    return `earlier runs: nothing on ${TOPICS.frames}, ${TOPICS.verdicts} or ${TOPICS.alerts}`;
  }
  const open = found.openAlerts === 0 ? '' : `, ${found.openAlerts} still open`;
  return [
    `earlier runs left ${plural(found.frames, 'frame', 'frames')} on ${TOPICS.frames}, ${plural(found.verdicts, 'verdict', 'verdicts')} on ${TOPICS.verdicts}`,
    ` and ${plural(found.alerts, 'alert', 'alerts')} on ${TOPICS.alerts}${open}.`,
    ' This run counts only its own frames and prints only the alerts it opens; the dashboard shows the earlier ones too',
    `${found.openAlerts === 0 ? '' : ' (and alerting may resolve the open ones)'}.`,
    ' To start from empty topics: `bash deploy/local/infra.sh reset` (deletes the local Kafka, S3 and provider state), then make demo.',
  ].join('');
}
