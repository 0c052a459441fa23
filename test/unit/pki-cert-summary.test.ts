// certificateSummary must print what node:crypto's X509Certificate prints, or decline (undefined).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { certificateFromDer, certificateSummary } from '../../agent/pki/cert.js';

function opensslCert(subject: string, extra: string[] = []): Uint8Array {
  const dir = mkdtempSync(path.join(tmpdir(), 'cert-summary-'));
  try {
    const out = path.join(dir, 'c.der');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-subj', subject, '-days', '30', '-outform', 'DER', '-out', out, ...extra], { stdio: 'ignore' });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('plain subjects: same subject, serial and validity as node', () => {
  for (const subj of ['/CN=dev-0001', '/C=DE/O=Acme Devices/OU=IoT/CN=dev-0002', '/DC=org/DC=example/CN=a.b-c_d', '/serialNumber=0042/CN=x']) {
    for (const serial of ['0x01', '0x7f00000000000000000000000000000000000001', '0x00ff']) {
      const der = opensslCert(subj, ['-set_serial', serial]);
      const s = certificateSummary(certificateFromDer(der));
      const x = new X509Certificate(Buffer.from(der));
      assert.ok(s, subj);
      assert.is(s!.subject, x.subject, subj);
      assert.is(s!.serialNumber, x.serialNumber, `${subj} ${serial}`);
      assert.is(s!.notBefore.getTime(), new Date(x.validFrom).getTime());
      assert.is(s!.notAfter.getTime(), new Date(x.validTo).getTime());
    }
  }
});

test('forms it does not reproduce are declined, never printed differently', () => {
  for (const subj of ['/CN=a,b', '/CN=a\\+b', '/CN=x\\/y', '/CN=ümlaut', '/CN=a/emailAddress=a@b.c', '/title=boss/CN=t']) {
    const der = opensslCert(subj, ['-utf8']);
    const s = certificateSummary(certificateFromDer(der));
    const x = new X509Certificate(Buffer.from(der));
    if (s) assert.is(s.subject, x.subject, subj);
  }
  const multi = opensslCert('/CN=a+O=b', ['-multivalue-rdn']);
  assert.is(certificateSummary(certificateFromDer(multi)), undefined);
});

test.run();
