// 30 simulated days of the composed agent (TPM keystore on swtpm, real lab server over TLS, PAL poller): hourly PAL
// polls with CRL and eecerts packages, renewals at the policy fraction, a 12-hour 503 storm, a CRL refresh — with
// request counts and state transitions asserted (no hot loop, no lost credential).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { composeAgent } from '../../agent/cli/compose.js';
import { memoryLogger } from '../../agent/util/log.js';
import { labPal } from '../../deploy/lab/pal.js';
import { text } from '../../deploy/lab/router.js';
import { startAgentEnv } from '../harness/agent-env.js';
import { simulateUntil } from '../harness/sim.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('30 days: renewals, PAL packages, 503 storm, CRL refresh — bounded requests, always a valid credential', async () => {
  const clock = new ManualClock(new Date());
  const start = clock.now().getTime();
  const env = await startAgentEnv({
    lab: { certValiditySeconds: 3 * 86400, now: () => clock.now() },
    config: { schedule: { cron: '0 * * * *', jitterSeconds: 0, backoffMinSeconds: 60, backoffMaxSeconds: 3600 } },
  });
  const pal = labPal(env.lab.router);
  const base = env.lab.estUrl();
  pal.setPal('dev-0001', [
    { type: '0004', size: 0, info: { kind: 'uri', uri: `${base}/crls` } },
    { type: '0003', size: 0, info: { kind: 'uri', uri: `${base}/eecerts` } },
  ]);
  // Fault injection at the server boundary: every request during the storm gets 503.
  let storm = false;
  let requests = 0;
  let stormRequests = 0;
  const match = env.lab.router.match.bind(env.lab.router);
  env.lab.router.match = (method, path) => {
    requests++;
    if (storm) {
      stormRequests++;
      return { handler: async () => text(503, 'maintenance'), params: {} };
    }
    return match(method, path);
  };

  const log = memoryLogger('info');
  const agent = await composeAgent(env.config, { clock, log });
  const transitions: string[] = [];
  const daemon = agent.daemon({ onIdle: (s) => transitions.push(s.phase) });
  const ac = new AbortController();
  const running = daemon.run(ac.signal);
  try {
    await simulateUntil(clock, new Date(start + 10 * DAY));
    const beforeStorm = { issued: env.lab.issued.length, requests };
    storm = true;
    await simulateUntil(clock, new Date(start + 10 * DAY + 12 * HOUR));
    storm = false;
    const crlBefore = agent.crlStore.crls()[0]?.thisUpdate.value.getTime();
    await pal.reissueCrl();
    await simulateUntil(clock, new Date(start + 30 * DAY));
    ac.abort();
    await running;

    const issued = env.lab.issued;
    // 3-day certificates (notBefore backdated 60 s) renewed at 2/3: ~every 2 days → 15 ± 1, one initial enrollment.
    assert.ok(issued.length >= 14 && issued.length <= 16, `issued ${issued.length}`);
    assert.is(issued.filter((r) => r.operation === 'simpleenroll').length, 1);
    assert.ok(beforeStorm.issued >= 5);
    // Storm: 12 hours of 503 → polls back off (60 s doubling, capped by the hourly schedule): ≤ 4 requests/hour.
    assert.ok(stormRequests > 0 && stormRequests <= 48, `requests during the storm: ${stormRequests}`);
    // Whole run: ~720 hourly PAL cycles of 3 requests (PAL, CRLs, eecerts) + renewals; no hot loop.
    const palCycles = pal.requests.length;
    assert.ok(palCycles >= 700 && palCycles <= 760, `PAL fetches ${palCycles}`);
    assert.ok(requests <= 3 * 760 + 40, `total requests ${requests}`);
    // CRL refreshed after the lab reissued it.
    const crlAfter = agent.crlStore.crls()[0]?.thisUpdate.value.getTime();
    assert.ok(crlBefore !== undefined && crlAfter !== undefined && crlAfter > crlBefore, `CRL ${crlBefore} → ${crlAfter}`);
    // Always a credential once enrolled; ends enrolled with a valid certificate.
    const s = await agent.enroller.loadState();
    assert.is(s.phase, 'enrolled');
    assert.ok(Date.parse(s.credential!.notAfter) > clock.now().getTime());
    const firstEnrolled = transitions.indexOf('enrolled');
    assert.ok(transitions.slice(firstEnrolled).every((p) => p === 'enrolled' || p === 'renewing'), 'never lost the credential');
    console.log(`30 days: ${issued.length} certificates, ${palCycles} PAL fetches, ${requests} requests (${stormRequests} during the 503 storm), ${daemon.iterations} loop iterations`);
  } finally {
    ac.abort();
    await agent.close();
    await env.stop();
  }
});

test.run();
