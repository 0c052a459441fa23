// `enrolld status`: human-readable and JSON views of the persisted state (reads files only; no TPM, no network).
import type { AgentState } from '../lifecycle/state.js';
import type { PalPollSummary } from './compose.js';
import type { NextRun } from './next-run.js';
import type { DownloadProgressReport } from '../packages/firmware/progress.js';
import { FEATURES, type FeatureStatus } from '../status/feature-status.js';
import { formatBytes } from './fleet-view.js';
import type { DecryptionKeyStatus } from '../status/schema.js';

/** Why the daemon wakes at `at`: the enrollment deadline (`due`, from Enroller.nextDue) if that is what `at` is. */
export function wakeReason(s: AgentState, due: Date | undefined, at: Date): string {
  if (due && due.getTime() <= at.getTime() + 1000) {
    if (s.retry) return `retry after ${s.retry.kind === 'waiting' ? 'the server asked to wait' : 'a failure'} (${s.retry.reason})`;
    if (s.phase === 'enrolled') return 'certificate renewal due';
    if (s.pending) return `${s.pending.operation} pending`;
    return 'enrollment';
  }
  return 'PAL poll (schedule)';
}

export interface StatusExtras {
  firmwareDownload?: DownloadProgressReport;
  features?: FeatureStatus;
  decryptionKey?: DecryptionKeyStatus;
}

export interface StatusView {
  phase: string;
  credential?: { subject: string; serial: string; notBefore: string; notAfter: string; renewAt: string; keyId: string };
  pending?: { operation: string; keyId: string; createdAt: string; attempts: number };
  retry?: { kind: string; until: string; attempt: number; reason: string };
  history: Array<{ at: string; from: string; to: string; event: string }>;
  lastPalPoll?: PalPollSummary;
  /** The next scheduled run as the daemon (or the last `once`) computed it. */
  nextRun?: NextRun;
  /** The last (or current) firmware download. */
  firmwareDownload?: DownloadProgressReport;
  /** Last success and last error per feature (enroll, pal, firmware). */
  features?: FeatureStatus;
  /** The CMC decryption key (cmc-decryption-key.json), when cmc.decryptionKey has run. */
  decryptionKey?: DecryptionKeyStatus;
}

export function statusView(s: AgentState | undefined, lastPalPoll?: PalPollSummary, nextRun?: NextRun, extras: StatusExtras = {}): StatusView {
  const pal = {
    ...(lastPalPoll ? { lastPalPoll } : {}),
    ...(nextRun ? { nextRun } : {}),
    ...(extras.firmwareDownload ? { firmwareDownload: extras.firmwareDownload } : {}),
    ...(extras.features && Object.keys(extras.features).length ? { features: extras.features } : {}),
    ...(extras.decryptionKey ? { decryptionKey: extras.decryptionKey } : {}),
  };
  if (!s) return { phase: 'unprovisioned', history: [], ...pal };
  const c = s.credential;
  return {
    phase: s.phase,
    ...(c ? { credential: { subject: c.subject, serial: c.serial, notBefore: c.notBefore, notAfter: c.notAfter, renewAt: c.renewAt, keyId: c.key.id } } : {}),
    ...(s.pending ? { pending: { operation: s.pending.operation, keyId: s.pending.key.id, createdAt: s.pending.createdAt, attempts: s.pending.attempts } } : {}),
    ...(s.retry ? { retry: { ...s.retry } } : {}),
    history: s.history.slice(-5).map((h) => ({ ...h })),
    ...pal,
  };
}

export function renderStatus(v: StatusView, now: Date = new Date()): string {
  const lines = [`state:        ${v.phase}${v.retry ? ` (${v.retry.kind}, attempt ${v.retry.attempt}, ${v.retry.reason}, next try ${v.retry.until})` : ''}`];
  if (v.credential) {
    const c = v.credential;
    const days = (Date.parse(c.notAfter) - now.getTime()) / 86_400_000;
    lines.push(
      `certificate:  ${c.subject}`,
      `  serial:     ${c.serial}`,
      `  valid:      ${c.notBefore} → ${c.notAfter} (${days >= 0 ? `${days.toFixed(1)} days left` : 'EXPIRED'})`,
      `  renew at:   ${c.renewAt}`,
      `  key:        ${c.keyId} (TPM, under the SRK)`,
    );
  } else {
    lines.push('certificate:  none');
  }
  if (v.pending) lines.push(`pending:      ${v.pending.operation} with key ${v.pending.keyId} since ${v.pending.createdAt} (${v.pending.attempts} attempts)`);
  if (v.lastPalPoll) {
    const p = v.lastPalPoll;
    lines.push(`last PAL poll: ${p.at} ${p.outcome}${p.error ? ` (${p.error})` : ''}: ${p.entries} entries, ${p.counts.ok} ok, ${p.counts.failed} failed, ${p.counts.skipped} skipped${p.renew ? ', renewal requested' : ''}`);
  } else {
    lines.push('last PAL poll: never');
  }
  if (v.nextRun) {
    const mins = (Date.parse(v.nextRun.at) - now.getTime()) / 60_000;
    const when = mins >= 0 ? `in ${mins < 120 ? `${mins.toFixed(1)} min` : `${(mins / 60).toFixed(1)} h`}` : `${(-mins).toFixed(1)} min ago — is enrolld.service running?`;
    lines.push(`next run:     ${v.nextRun.at} (${when}; computed by \`enrolld ${v.nextRun.by}\` at ${v.nextRun.computedAt})`);
    if (v.nextRun.reason) lines.push(`  reason:     ${v.nextRun.reason}`);
  } else {
    lines.push('next run:     unknown (the daemon has not run yet)');
  }
  if (v.firmwareDownload) {
    const d = v.firmwareDownload;
    const pct = d.total ? ` of ${formatBytes(d.total)} (${Math.min(100, Math.floor((100 * d.bytes) / d.total))} %)` : '';
    const eta = d.etaSeconds !== undefined ? `, ETA ${d.etaSeconds} s` : '';
    lines.push(`firmware download: ${d.phase}${d.error ? ` (${d.error})` : ''}: ${formatBytes(d.bytes)}${pct} at ${formatBytes(d.rate)}/s${eta}, ${d.at}`);
  }
  if (v.decryptionKey) {
    const d = v.decryptionKey;
    const iso = (t: Date | string): string => (typeof t === 'string' ? t : t.toISOString());
    lines.push(d.serial ? `decryption key: serial ${d.serial}, valid to ${iso(d.notAfter ?? '?')}, renew at ${iso(d.renewAt ?? '?')}` : 'decryption key: none certified yet');
    if (d.result) lines.push(`  last:       ${d.result}${d.code ? ` (${d.code})` : ''} at ${iso(d.at ?? '?')}${d.until ? `, next try ${iso(d.until)}` : ''}`);
  }
  if (v.features) {
    lines.push('last errors:');
    for (const f of FEATURES) {
      const r = v.features[f];
      const err = r?.lastError ? `${r.lastError.code} at ${r.lastError.at}` : 'none';
      lines.push(`  ${(f + ':').padEnd(10)}  ${err}${r?.lastSuccess ? ` (last success ${r.lastSuccess})` : ''}`);
    }
  }
  if (v.history.length) {
    lines.push('recent:');
    for (const h of v.history) lines.push(`  ${h.at}  ${h.from} → ${h.to} (${h.event})`);
  }
  return lines.join('\n');
}
