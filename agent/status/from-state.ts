// Builds the StatusSink inputs from the persisted lifecycle state (the lifecycle's onTransition hook calls this).
// Parts the lifecycle does not know come from the caller: the keystore's health (`tpm`, what it knows, never
// assumed), and what the features report (PAL, firmware, TA store, CMC decryption key, error history; status/device-status.ts).
import type { AgentState } from '../lifecycle/state.js';
import type { DeviceStatus, StateExtra } from './schema.js';

export type StatusParts = Omit<DeviceStatus, 'phase' | 'enroll'>;

export function deviceStatusFromState(s: AgentState, parts: StatusParts): DeviceStatus {
  const out: DeviceStatus = { phase: s.phase, tpm: parts.tpm };
  if (s.credential) {
    out.enroll = { serial: s.credential.serial, notAfter: s.credential.notAfter, renewAt: s.credential.renewAt, subject: s.credential.subject };
  }
  if (parts.pal) out.pal = parts.pal;
  if (parts.fw) out.fw = parts.fw;
  if (parts.ta) out.ta = parts.ta;
  if (parts.dk) out.dk = parts.dk;
  if (parts.errors?.length) out.errors = parts.errors;
  return out;
}

export function stateExtraFromState(s: AgentState): StateExtra | undefined {
  return s.retry ? { retry: s.retry.kind, until: s.retry.until } : undefined;
}
