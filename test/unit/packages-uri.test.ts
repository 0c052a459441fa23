// PAL package URIs (agent/protocols/est/package-uri.ts) are server data: only https URIs on the EST server's own
// origin (or configured ones), under /.well-known/est[/label]/<expected operation>, are used. Also the lab's Accept
// negotiation for the PAL encoding (deploy/lab/pal.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EstProtocolError } from '../../agent/protocols/est/errors.js';
import { resolvePackageUri } from '../../agent/protocols/est/package-uri.js';
import { negotiate } from '../../deploy/lab/pal.js';

const ctx = { baseUrl: 'https://est.example:8443' };

test('default URI, label and trailing package id', () => {
  assert.is(resolvePackageUri(ctx, undefined, ['crls']).url.href, 'https://est.example:8443/.well-known/est/crls');
  assert.is(resolvePackageUri({ ...ctx, label: 'fleet' }, undefined, ['pal']).url.href, 'https://est.example:8443/.well-known/est/fleet/pal');
  const r = resolvePackageUri(ctx, 'https://EST.example:8443/.well-known/est/fleet/eecerts/1234', ['eecerts']);
  assert.is(r.label, 'fleet');
  assert.is(r.operation, 'eecerts');
  assert.equal(r.rest, ['1234']);
  const s = resolvePackageUri(ctx, 'https://est.example:8443/.well-known/est/simplereenroll', ['simplereenroll', 'fullcmc']);
  assert.is(s.label, undefined);
  assert.is(s.operation, 'simplereenroll');
});

test('refused: other origin, http, userinfo, wrong operation, outside the EST tree (after dot-segment removal)', () => {
  const bad = [
    'https://evil.example/.well-known/est/crls',
    'https://est.example/.well-known/est/crls', // default port ≠ 8443
    'http://est.example:8443/.well-known/est/crls',
    'https://user:pw@est.example:8443/.well-known/est/crls',
    'https://est.example:8443/.well-known/est/cacerts',
    'https://est.example:8443/crls',
    'https://est.example:8443/.well-known/est/%2e%2e/crls', // normalizes to /.well-known/crls
    'https://est.example:8443/.well-known/est/a%20b/crls', // not a valid label
    'not a uri',
  ];
  for (const u of bad) {
    try {
      resolvePackageUri(ctx, u, ['crls']);
      assert.unreachable(u);
    } catch (e) {
      assert.ok(e instanceof EstProtocolError, `${u}: ${String(e)}`);
      assert.is((e as EstProtocolError).code, 'est.protocol.package_uri');
    }
  }
  // an explicitly allowed origin is accepted
  assert.ok(resolvePackageUri(ctx, 'https://cdn.example/.well-known/est/crls', ['crls'], { allowedOrigins: ['https://cdn.example'] }));
});

test('lab Accept negotiation (§2.2)', () => {
  assert.is(negotiate(undefined), 'json');
  assert.is(negotiate('application/xml'), 'xml');
  assert.is(negotiate('application/json'), 'json');
  assert.is(negotiate('application/json, application/xml;q=0.9'), 'json');
  assert.is(negotiate('application/json;q=0.5, application/xml'), 'xml');
  assert.is(negotiate('*/*'), 'json');
  assert.is(negotiate('text/html'), undefined);
  assert.is(negotiate('application/json;q=0'), undefined);
});

test.run();
