// Fleet-scale schedule: N devices provisioned on one day, each running the real Daemon + Enroller (schedule.ts
// renewal time, backoff, Retry-After handling, state transitions) on one injected simulated clock with a software
// keystore; one simulated server counts enrollments per minute and can be down for an outage window. What it
// measures is the server's load shape: peak vs mean enrollments per minute, jitter on vs off, and the recovery
// storm after an outage.
//
// Faithful: Daemon.run/iterate/nextWake, Enroller.step/start/verify/failed, renewAt/backoffSeconds/withJitter,
// state transitions, SoftwareKeyStore key generation. Simplified (not what is being measured): the CSR is the
// key's SPKI (the simulated server does not parse it), the issued certificate is signed by one in-memory CA key and
// its chain is not validated, the PAL poll schedule is a fixed weekly `next()` (no poller is configured, so the
// daemon only uses it as a wake-up; node-cron's minute-by-minute search would dominate the run time).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Clock } from '../agent/lifecycle/clock.js';
import { Daemon } from '../agent/lifecycle/daemon.js';
import { Enroller } from '../agent/lifecycle/enroller.js';
import type { CronSchedule } from '../agent/lifecycle/schedule.js';
import { RENEW_SPREAD } from '../agent/lifecycle/schedule.js';
import type { AgentState } from '../agent/lifecycle/state.js';
import { SoftwareKeyStore } from '../agent/keystore/software.js';
import type { EnrollmentProtocol } from '../agent/protocols/protocol.js';
import { EnrolldError } from '../agent/util/errors.js';
import { createLogger } from '../agent/util/log.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A Clock whose sleepers sit in a binary heap; the driver wakes them in time order and waits until all sleep. */
export class FleetClock implements Clock {
  private t: number;
  private heap: Sleeper[] = [];
  private stopped = false;
  private seq = 0;
  private awake = 0;
  private idle: (() => void) | undefined;
  constructor(start: number) {
    this.t = start;
  }
  now(): Date {
    return new Date(this.t);
  }
  /** The signal is only checked on entry: stop() ends every sleeper at once (no listener per sleep). */
  sleepUntil(when: Date, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || this.stopped) return Promise.reject(signal?.reason ?? new Error('stopped'));
    const at = when.getTime();
    if (at <= this.t) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.push({ at, seq: this.seq++, resolve, reject });
      this.fellAsleep();
    });
  }
  /** Rejects every sleeper (the daemons' run() loops end) and waits until all have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = this.heap.splice(0);
    const settled = new Promise<void>((resolve) => (this.idle = resolve));
    this.awake += all.length;
    for (const e of all) e.reject(new Error('stopped'));
    if (all.length) await settled;
  }
  /** A sleeper that is not a daemon loop (device start-up) does not count as awake when it wakes. */
  private fellAsleep(): void {
    this.awake = Math.max(0, this.awake - 1);
    if (this.awake === 0) this.idle?.();
  }
  /** Marks `n` tasks as running (they will call sleepUntil again or finish()). */
  running(n = 1): void {
    this.awake += n;
  }
  finish(): void {
    this.fellAsleep();
  }
  /** Wakes sleepers in time order until `end`; each batch (same instant) runs until every task sleeps again. */
  async runUntil(end: number, stallMs = 60_000): Promise<number> {
    let wakes = 0;
    while (this.heap.length && this.heap[0]!.at <= end) {
      const at = this.heap[0]!.at;
      this.t = Math.max(this.t, at);
      const batch: Array<() => void> = [];
      while (this.heap.length && this.heap[0]!.at === at) batch.push(this.pop().resolve);
      const settled = new Promise<void>((resolve) => (this.idle = resolve));
      this.awake += batch.length;
      for (const r of batch) r();
      wakes += batch.length;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        settled,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`fleet simulation stalled at ${new Date(at).toISOString()}`)), stallMs))),
      ]).finally(() => clearTimeout(timer));
      this.idle = undefined;
    }
    this.t = Math.max(this.t, end);
    return wakes;
  }
  private less(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  private push(e: Sleeper): void {
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  private pop(): Sleeper {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(l, m)) m = l;
        if (r < h.length && this.less(r, m)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Deterministic PRNG (mulberry32) so runs are comparable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class ServerUnavailableError extends EnrolldError {
  readonly status = 503;
}

export interface FleetOptions {
  devices: number;
  days: number;
  /** Certificate lifetime (default 30 days). */
  lifetimeDays?: number;
  /** Jitter on: renewal spread (RENEW_SPREAD) and poll jitter; off: every device renews exactly at renewFraction. */
  jitter: boolean;
  /** Devices come up uniformly over this many hours of day 0 (default 8: one factory shift). */
  provisionHours?: number;
  /** Server down from `startDay` for `hours`. */
  outage?: { startDay: number; hours: number };
  /** Sliding window over which the per-minute rate is averaged for the peak (default 60 minutes). */
  windowMinutes?: number;
  seed?: number;
  renewFraction?: number;
  backoffMinSeconds?: number;
  backoffMaxSeconds?: number;
}

export interface FleetResult {
  devices: number;
  days: number;
  jitter: boolean;
  outage?: { startDay: number; hours: number };
  /** All enrollment requests the server answered (issued) or refused (outage). */
  requests: number;
  issued: number;
  refused: number;
  /** Day 0 (provisioning): initial enrollments. */
  provisioning: number;
  /** Days 1..days: mean issued per minute, peak of the windowed per-minute rate, and the raw busiest minute. */
  meanPerMinute: number;
  peakPerMinute: number;
  busiestMinute: number;
  windowMinutes: number;
  ratio: number;
  /** peak/mean for other window lengths (minutes → ratio), from the same run. */
  ratioByWindow: Record<number, number>;
  /** Devices whose certificate expired at some point (renewal failed to land in time). */
  lapsed: number;
  wakes: number;
  wallMs: number;
}

const START = Date.UTC(2026, 0, 5);

/** Weekly wake-up for the daemon loop (no PAL poller: the daemon only uses it as its next wake). */
const weekly = { next: (after: Date) => new Date(after.getTime() + 7 * DAY) } as unknown as CronSchedule;

export async function simulateFleet(o: FleetOptions): Promise<FleetResult> {
  const t0 = performance.now();
  const lifetime = (o.lifetimeDays ?? 30) * DAY;
  const random = seededRandom(o.seed ?? 7);
  const clock = new FleetClock(START);
  const end = START + o.days * DAY;
  const windowMinutes = o.windowMinutes ?? 60;
  const minutes = new Uint32Array(o.days * 24 * 60 + 1);
  let refused = 0;
  let issued = 0;
  const outStart = o.outage ? START + o.outage.startDay * DAY : Infinity;
  const outEnd = o.outage ? outStart + o.outage.hours * HOUR : -Infinity;

  const caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const ecdsaSha256 = (): pkijs.AlgorithmIdentifier => new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.2' });
  const caName = new pkijs.RelativeDistinguishedNames({ typesAndValues: [new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: 'fleet CA' }) })] });
  let serial = 1;
  // Signed synchronously with node:crypto (RFC 5280 §4.1.1.3: signature over the DER TBSCertificate).
  const issue = (spki: Uint8Array, device: string, now: Date): Uint8Array => {
    const cert = new pkijs.Certificate();
    cert.version = 2;
    cert.serialNumber = new asn1js.Integer({ value: serial++ });
    cert.issuer = caName;
    cert.subject = new pkijs.RelativeDistinguishedNames({ typesAndValues: [new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: device }) })] });
    cert.notBefore.value = now;
    cert.notAfter.value = new Date(now.getTime() + lifetime);
    cert.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(spki);
    cert.signature = ecdsaSha256();
    cert.signatureAlgorithm = ecdsaSha256();
    const tbs = new Uint8Array(cert.encodeTBS().toBER(false));
    cert.signatureValue = new asn1js.BitString({ valueHex: cryptoSign('sha256', tbs, { key: caKey, dsaEncoding: 'der' }) });
    return new Uint8Array(cert.toSchema(true).toBER(false));
  };

  const log = createLogger({ level: 'error', sink: { write: () => undefined } });
  const abort = new AbortController();
  const runs: Promise<void>[] = [];
  const lapsedDevices = new Set<number>();
  // Every device task counts as running until its first sleepUntil (its start time).
  clock.running(o.devices);
  for (let i = 0; i < o.devices; i++) {
    const device = `dev-${i}`;
    let state: AgentState | undefined;
    const keystore = new SoftwareKeyStore();
    const protocol: EnrollmentProtocol = {
      name: 'est',
      enroll: async (req) => {
        const now = clock.now().getTime();
        if (now >= outStart && now < outEnd) {
          refused++;
          throw new ServerUnavailableError('server.unavailable', 'server down (simulated outage)');
        }
        const held = state?.credential;
        if (held && Date.parse(held.notAfter) <= now) lapsedDevices.add(i);
        const m = Math.floor((now - START) / MINUTE);
        if (m < minutes.length) minutes[m]!++;
        issued++;
        return { kind: 'issued', cert: issue(req.key!.spki, device, clock.now()), chain: [] };
      },
    };
    const enroller = new Enroller({
      clock,
      log,
      keystore,
      protocol,
      state: {
        load: async () => state,
        save: async (s) => {
          state = s;
        },
      },
      buildCsr: async (key) => key.spki,
      verifyIssued: async () => undefined,
      policy: {
        keyAlgorithm: 'ecc-p256',
        renewFraction: o.renewFraction ?? 2 / 3,
        renewSpread: o.jitter ? RENEW_SPREAD : 0,
        backoffMinSeconds: o.backoffMinSeconds ?? 60,
        backoffMaxSeconds: o.backoffMaxSeconds ?? 6 * 3600,
      },
      random,
    });
    const daemon = new Daemon({
      clock,
      log,
      enroller,
      schedule: weekly,
      jitterSeconds: o.jitter ? 3600 : 0,
      backoffMinSeconds: o.backoffMinSeconds ?? 60,
      backoffMaxSeconds: o.backoffMaxSeconds ?? 6 * 3600,
      random,
    });
    const upAt = new Date(START + Math.floor(random() * (o.provisionHours ?? 8) * HOUR));
    // Each device loop counts as one running task from its start until it ends (Daemon.run resolves on abort).
    runs.push(
      clock
        .sleepUntil(upAt, abort.signal)
        .then(() => daemon.run(abort.signal))
        .catch(() => undefined)
        .finally(() => clock.finish()),
    );
  }
  // Every device task is asleep now (waiting for its start time).
  const wakes = await clock.runUntil(end);
  abort.abort();
  await clock.stop();

  const perDay = 24 * 60;
  const first = perDay; // day 0 is provisioning
  const span = minutes.length - 1 - first;
  let total = 0;
  let busiest = 0;
  for (let m = first; m < minutes.length - 1; m++) {
    total += minutes[m]!;
    busiest = Math.max(busiest, minutes[m]!);
  }
  const peakOver = (w: number): number => {
    let win = 0;
    let peakWin = 0;
    for (let m = first; m < minutes.length - 1; m++) {
      win += minutes[m]!;
      if (m - first >= w) win -= minutes[m - w]!;
      if (m - first >= w - 1) peakWin = Math.max(peakWin, win);
    }
    return peakWin / w;
  };
  const peakByWindow: Record<number, number> = {};
  for (const w of new Set([60, 360, 1440, windowMinutes])) peakByWindow[w] = peakOver(w) / (total / span);
  let provisioning = 0;
  for (let m = 0; m < first; m++) provisioning += minutes[m]!;
  const mean = total / span;
  const peak = peakOver(windowMinutes);
  return {
    devices: o.devices,
    days: o.days,
    jitter: o.jitter,
    ...(o.outage ? { outage: o.outage } : {}),
    requests: issued + refused,
    issued,
    refused,
    provisioning,
    meanPerMinute: mean,
    peakPerMinute: peak,
    busiestMinute: busiest,
    windowMinutes,
    ratio: peak / mean,
    ratioByWindow: peakByWindow,
    lapsed: lapsedDevices.size,
    wakes,
    wallMs: performance.now() - t0,
  };
}

/** One line per scenario, for the bench table and the CLI. */
export function describeFleet(r: FleetResult): string {
  const others = Object.entries(r.ratioByWindow).map(([w, x]) => `${Number(w) >= 60 ? `${Number(w) / 60} h` : `${w} min`} ${x.toFixed(2)}×`).join(', ');
  return `peak ${r.peakPerMinute.toFixed(2)}/min (${r.windowMinutes}-min window; busiest minute ${r.busiestMinute}) vs mean ${r.meanPerMinute.toFixed(3)}/min = ${r.ratio.toFixed(2)}× (by window: ${others}); ${r.issued} issued, ${r.refused} refused, ${r.lapsed} lapsed`;
}

/** The scenarios `npm run bench` prints: jitter off, jitter on, jitter on with a 12-hour outage on day 45. */
export const FLEET_SCENARIOS = [[false, undefined], [true, undefined], [true, { startDay: 45, hours: 12 }]] as const;

// `node dist/bench/fleet-schedule.js [devices] [days] [windowMinutes]`: the three scenarios.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const devices = Number(process.argv[2] ?? 10_000);
  const days = Number(process.argv[3] ?? 90);
  const windowMinutes = Number(process.argv[4] ?? 60);
  for (const [jitter, outage] of FLEET_SCENARIOS) {
    const r = await simulateFleet({ devices, days, jitter, windowMinutes, ...(outage ? { outage } : {}) });
    console.log(`${devices} devices, ${days} days, jitter ${jitter ? 'on ' : 'off'}${outage ? ', 12 h outage on day 45' : ''}: ${describeFleet(r)} (${(r.wallMs / 1000).toFixed(1)} s, ${r.wakes} wakes)`);
  }
}
