// `enrolld run --metrics-file PATH`: a Prometheus node_exporter textfile-collector file (text exposition format
// 0.0.4), replaced atomically after every daemon iteration (temp file in the same directory + rename, so the
// collector never reads half a file). Mode 0644: node_exporter runs as another user; nothing in it is secret.
import { writeFileAtomic } from '../store/atomic-file.js';
import type { AgentState } from '../lifecycle/state.js';
import type { DownloadProgressReport } from '../packages/firmware/progress.js';
import { FEATURES, type FeatureStatus } from './feature-status.js';

export interface MetricsInput {
  state: AgentState | undefined;
  features: FeatureStatus;
  firmwareDownload?: DownloadProgressReport;
  nextWake?: Date;
  now: Date;
}

const secs = (t: string | Date): number => Math.floor(new Date(t).getTime() / 1000);
/** Label values: backslash, double quote and newline escaped (exposition format). */
const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(m: MetricsInput): string {
  const out: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Array<[Record<string, string>, number]>): void => {
    if (!samples.length) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${label(x)}"`).join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${v}`);
    }
  };
  const c = m.state?.credential;
  metric('enrolld_phase', 'gauge', 'Lifecycle phase (1 for the current one).', m.state ? [[{ phase: m.state.phase }, 1]] : []);
  metric('enrolld_certificate_not_after_seconds', 'gauge', 'notAfter of the current certificate, Unix time.', c ? [[{ serial: c.serial }, secs(c.notAfter)]] : []);
  metric('enrolld_certificate_renew_at_seconds', 'gauge', 'When the agent plans to renew the current certificate, Unix time.', c ? [[{ serial: c.serial }, secs(c.renewAt)]] : []);
  metric('enrolld_retry_until_seconds', 'gauge', 'Backing off or waiting: not before this Unix time.', m.state?.retry ? [[{ kind: m.state.retry.kind, reason: m.state.retry.reason }, secs(m.state.retry.until)]] : []);
  metric('enrolld_last_success_seconds', 'gauge', 'Last successful enrollment, PAL poll or firmware download, Unix time.', FEATURES.flatMap((f) => (m.features[f]?.lastSuccess ? [[{ feature: f }, secs(m.features[f]!.lastSuccess!)] as [Record<string, string>, number]] : [])));
  metric('enrolld_last_pal_poll_success_seconds', 'gauge', 'Last successful PAL poll, Unix time.', m.features.pal?.lastSuccess ? [[{}, secs(m.features.pal.lastSuccess)]] : []);
  metric('enrolld_failures_total', 'counter', 'Failures by feature and error code (kind).', FEATURES.flatMap((f) => Object.entries(m.features[f]?.failures ?? {}).map(([kind, n]) => [{ feature: f, kind }, n] as [Record<string, string>, number])));
  const d = m.firmwareDownload;
  if (d && d.phase === 'downloading') {
    metric('enrolld_firmware_download_bytes', 'gauge', 'Bytes of the firmware package downloaded so far.', [[{}, d.bytes]]);
    if (d.total !== undefined) metric('enrolld_firmware_download_total_bytes', 'gauge', 'Expected size of the firmware package.', [[{}, d.total]]);
  }
  metric('enrolld_next_wake_seconds', 'gauge', 'Next scheduled daemon wake-up, Unix time.', m.nextWake ? [[{}, secs(m.nextWake)]] : []);
  metric('enrolld_metrics_written_seconds', 'gauge', 'When this file was written, Unix time.', [[{}, secs(m.now)]]);
  return out.join('\n') + '\n';
}

export async function writeMetricsFile(file: string, m: MetricsInput): Promise<void> {
  await writeFileAtomic(file, renderMetrics(m), { mode: 0o644 });
}
