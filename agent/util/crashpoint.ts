// Named crash points for the crash-injection proof (test/integration/crash-points.test.ts): `crashpoint(name)` is a
// no-op unless the process was started with ENROLLD_CRASHPOINT=<name> (read once at start-up), in which case the
// process SIGKILLs itself there — the same as a power cut at that instant, at a point a test can name instead of
// hoping a random kill lands on it. Production never sets the variable; the cost is one string comparison.
const armed = process.env.ENROLLD_CRASHPOINT || undefined;

/** The named points (documentation and the test's table). */
export const CRASH_POINTS = [
  'enroll.after-nonce', // attestation nonce fetched, evidence not built
  'enroll.after-csr', // CSR built, pending request not yet persisted
  'enroll.after-send', // pending request persisted, request not yet sent
  'enroll.after-response', // certificate received, not yet validated or stored
  'atomic.before-rename', // a state file's temp copy written and fsynced, not renamed (any file; see below)
  'firmware.mid-download', // first part of the package on disk
  'firmware.after-apply', // the hook finished, firmware state not yet written
] as const;

/** Kills the process here if armed for `name` (or for `name:<detail>`, e.g. atomic.before-rename:trust-anchors.json). */
export function crashpoint(name: string, detail?: string): void {
  if (armed === undefined) return;
  if (armed === name || (detail !== undefined && armed === `${name}:${detail}`)) process.kill(process.pid, 'SIGKILL');
}
