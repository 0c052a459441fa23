// The journal's native protocol: a unix datagram socket bound in a temp dir stands in for
// /run/systemd/journal/socket (a Python receiver, since node has no unix datagram sockets); the logger sends
// through the native addon's sendto, and the received fields are decoded and checked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, journalDatagram, messageId, stderrIsJournal } from '../../agent/util/log.js';

const RECEIVER = `
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
out = []
for _ in range(int(sys.argv[2])):
    out.append(s.recv(65536).decode())
print(json.dumps(out))
`;

function parse(d: string): Record<string, string> {
  const o: Record<string, string> = {};
  for (const l of d.split('\n')) {
    if (!l) continue;
    const i = l.indexOf('=');
    assert.ok(i > 0, `field line ${l}`);
    o[l.slice(0, i)] = l.slice(i + 1);
  }
  return o;
}

test('datagrams over a real unix socket: MESSAGE, PRIORITY, MESSAGE_ID, CODE_*, fields as ENROLLD_*, secrets redacted', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'enrolld-journal-'));
  const sock = path.join(dir, 'socket');
  const py = spawn('/usr/bin/python3', ['-c', RECEIVER, sock, '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  py.stdout.on('data', (d) => (out += d));
  try {
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
    const plain: string[] = [];
    const log = createLogger({ level: 'debug', journalSocket: sock, sink: { write: (l) => plain.push(l) } }).child({ device: 'dev-1' });
    log.info('enroll.issued', { serial: '0a1b', subject: 'CN=dev 1,O=x', attempt: 2 });
    log.error('est.failed', { err: Object.assign(new Error('boom\nline2'), { code: 'est.http-503' }), password: 'hunter2', keyId: 'ldevid-1' });
    log.debug('renew.scheduled', { renewAt: new Date(0) });
    const code = await new Promise<number | null>((r) => py.on('close', r));
    assert.is(code, 0);
    assert.equal(plain, [], 'nothing on stderr while the journal takes it');
    const [a, b, c] = (JSON.parse(out) as string[]).map(parse);
    assert.is(a!.MESSAGE, 'enroll.issued device=dev-1 serial=0a1b subject="CN=dev 1,O=x" attempt=2');
    assert.is(a!.PRIORITY, '6');
    assert.is(a!.MESSAGE_ID, messageId('enroll.issued'));
    assert.match(a!.MESSAGE_ID!, /^[0-9a-f]{32}$/);
    assert.is(a!.SYSLOG_IDENTIFIER, 'enrolld');
    assert.is(a!.ENROLLD_EVENT, 'enroll.issued');
    assert.is(a!.ENROLLD_DEVICE, 'dev-1');
    assert.is(a!.ENROLLD_SUBJECT, 'CN=dev 1,O=x');
    assert.is(a!.ENROLLD_ATTEMPT, '2');
    assert.match(a!.CODE_FILE!, /log-journal\.test\.js$/, 'the caller, not the logger');
    assert.match(a!.CODE_LINE!, /^\d+$/);
    assert.is(b!.PRIORITY, '3');
    assert.is(b!.ENROLLD_ERR, 'est.http-503: boom line2');
    assert.is(b!.ENROLLD_PASSWORD, '[redacted]');
    assert.is(b!.ENROLLD_KEY_ID, 'ldevid-1');
    assert.not.ok(JSON.stringify([a, b, c]).includes('hunter2'));
    assert.is(c!.PRIORITY, '7');
    assert.is(c!.ENROLLD_RENEW_AT, '1970-01-01T00:00:00.000Z');
    assert.not.equal(messageId('enroll.issued'), messageId('est.failed'));
  } finally {
    py.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no journal reachable: plain priority-prefixed lines, and the logger stops trying', () => {
  const plain: string[] = [];
  let sends = 0;
  const log = createLogger({ journalSocket: '/nonexistent/journal/socket', send: () => (sends++, (() => { throw new Error('ENOENT'); })()), sink: { write: (l) => plain.push(l) } });
  log.warn('a.b', { x: 1 });
  log.warn('c.d');
  assert.is(sends, 1);
  assert.equal(plain, ['<4>a.b x=1', '<4>c.d']);
});

test('JOURNAL_STREAM counts only when it names our stderr; datagram values never span lines', () => {
  assert.is(stderrIsJournal({ JOURNAL_STREAM: '8:12345' }), false);
  assert.is(stderrIsJournal({}), false);
  const d = journalDatagram('info', 'x.y', { note: 'a\nb\r\nc' });
  for (const l of d.trimEnd().split('\n')) assert.match(l, /^[A-Z0-9_]+=/);
});

test.run();
