// `enrolld demo --server plain` as a user runs it: the RFC 7030 lifecycle against the lab's plain profile with swtpm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../harness/cli.js';

test('enrolld demo --server plain: 202 waited out, csrattrs honored, /cacerts, re-enrollment with TLS client auth + Basic, exits 0', async () => {
  const r = await runCli('demo', '--server', 'plain');
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /simpleenroll: 202 Accepted, Retry-After 60 s/);
  assert.match(r.stdout, /issued "CN=dev-0001"; CSR key ec secp384r1, signature ecdsa-with-SHA384/);
  assert.match(r.stdout, /2\. \/cacerts refreshed after a root key update on the server \(\/pal answered 404: mode rfc7030\) — ok 1, failed 0/);
  assert.match(r.stdout, /TAs:.*\[config\].*\[cacerts-rollover\]/);
  assert.match(r.stdout, /3\. re-enrollment/);
  // The server's 401 after TLS client auth, then the same request with Basic: 401 → 202 → 200.
  assert.match(r.stdout, /simplereenroll answered 401 → 202 → (?:401 → )?200; issued under root generation \d to tls:CN=dev-0001 \+ basic:dev-0001/);
  assert.match(r.stdout, /re-enrolled in \d+ ms\n {2}subject: {3}CN=dev-0001\n/);
  assert.match(r.stdout, /TPM calls \(in-process, ms\):/);
  assert.match(r.stdout, /state: enrolled/);
});

test('enrolld demo --server: unknown server or a protocol other than EST is refused', async () => {
  const bad = await runCli('demo', '--server', 'nope');
  assert.is.not(bad.status, 0);
  assert.match(bad.stderr, /--server nope/);
  const cmp = await runCli('demo', '--server', 'plain', '--protocol', 'cmp');
  assert.is.not(cmp.status, 0);
  assert.match(cmp.stderr, /EST only/);
});

test.run();
