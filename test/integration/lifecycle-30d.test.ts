// 30 days of the composed agent (TPM keystore on swtpm, real lab server over TLS, PAL poller): hourly PAL
// polls with CRL and eecerts packages, renewals at the policy fraction, a 12-hour 503 storm, a CRL refresh — with
// request counts and state transitions asserted (no hot loop, no lost credential). Setup: test/harness/sim-agent.ts
// (shared with soak-year).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryLogger } from '../../agent/util/log.js';
import { text } from '../../deploy/lab/router.js';
import { simulateUntil } from '../harness/sim.js';
import { startSimAgent } from '../harness/sim-agent.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('30 days: renewals, PAL packages, 503 storm, CRL refresh — bounded requests, always a valid credential', async () => {
  const transitions: string[] = [];
  const sim = await startSimAgent({
    certValiditySeconds: 3 * 86400,
    cron: '0 * * * *',
    log: memoryLogger('info'),
    onIdle: (s) => transitions.push(s.phase),
  });
  const { clock, env, pal, agent, daemon } = sim;
  const start = clock.now().getTime();
  const running = sim.run();
  try {
    await simulateUntil(clock, new Date(start + 10 * DAY));
    const beforeStorm = { issued: env.lab.issued.length, requests: sim.requests };
    // Fault injection at the server boundary: every request during the storm gets 503.
    sim.fault = () => text(503, 'maintenance');
    await simulateUntil(clock, new Date(start + 10 * DAY + 12 * HOUR));
    sim.fault = undefined;
    const stormRequests = sim.faulted;
    const crlBefore = (await agent.crlStore.crls())[0]?.thisUpdate.value.getTime();
    await pal.reissueCrl();
    await simulateUntil(clock, new Date(start + 30 * DAY));
    await sim.halt();
    await running;

    const issued = env.lab.issued;
    const requests = sim.requests;
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
    const crlAfter = (await agent.crlStore.crls())[0]?.thisUpdate.value.getTime();
    assert.ok(crlBefore !== undefined && crlAfter !== undefined && crlAfter > crlBefore, `CRL ${crlBefore} → ${crlAfter}`);
    // Always a credential once enrolled; ends enrolled with a valid certificate.
    const s = await agent.enroller.loadState();
    assert.is(s.phase, 'enrolled');
    assert.ok(Date.parse(s.credential!.notAfter) > clock.now().getTime());
    const firstEnrolled = transitions.indexOf('enrolled');
    assert.ok(transitions.slice(firstEnrolled).every((p) => p === 'enrolled' || p === 'renewing'), 'never lost the credential');
    console.log(`30 days: ${issued.length} certificates, ${palCycles} PAL fetches, ${requests} requests (${stormRequests} during the 503 storm), ${daemon.iterations} loop iterations`);
  } finally {
    await sim.stop();
  }
});

test.run();
