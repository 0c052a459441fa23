import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, memoryLogger, formatFields } from '../../agent/util/log.js';

test('one line per event, key=value, quoted when needed', () => {
  const log = memoryLogger();
  log.info('enroll.issued', { serial: '0a1b', subject: 'CN=dev 1,O=x', n: 3 });
  assert.is(log.lines.length, 1);
  assert.match(log.lines[0]!, / info enroll\.issued serial=0a1b subject="CN=dev 1,O=x" n=3$/);
});

test('secrets are redacted by field name', () => {
  const out = formatFields({ password: 'hunter2', nonce: 'abcd', privateKey: 'x', keyId: 'ldevid-1', token: 't', user: 'u' });
  assert.not.match(out, /hunter2|abcd|=x |=t /);
  assert.match(out, /keyId=ldevid-1/);
  assert.match(out, /user=u/);
});

test('journald priority prefix and level filter', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', journal: true, sink: { write: (l) => lines.push(l) } });
  log.info('ignored');
  log.error('tpm.failed', { err: Object.assign(new Error('boom\nline2'), { code: 'tpm.rc' }) });
  assert.equal(lines, ['<3>tpm.failed err="tpm.rc: boom line2"']);
});

test('child loggers carry fields', () => {
  const lines: string[] = [];
  const log = createLogger({ journal: true, sink: { write: (l) => lines.push(l) } }).child({ device: 'd1' });
  log.info('x', { a: 1 });
  assert.equal(lines, ['<6>x device=d1 a=1']);
});

test.run();
