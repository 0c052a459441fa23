// store/layout.ts: every state and firmware work file is named there once; the helpers agree with each other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as L from '../../agent/store/layout.js';
import { FileBdSeqStore } from '../../agent/status/bdseq.js';

test('firmwareLayout: absolute paths of the work files, the .part pair next to the package', () => {
  const f = L.firmwareLayout('rel/fw');
  const dir = path.resolve('rel/fw');
  assert.is(f.dir, dir);
  assert.is(f.package, path.join(dir, 'package.der'));
  assert.is(f.packagePart, path.join(dir, 'package.der.part'));
  assert.is(f.packagePartMeta, path.join(dir, 'package.der.part.json'));
  assert.is(f.content, path.join(dir, 'content.bin'));
  assert.is(f.image, path.join(dir, 'image.bin'));
  assert.is(f.lock, path.join(dir, 'lock'));
  assert.is(f.outbox, path.join(dir, 'outbox'));
  assert.is(f.state, path.join(dir, 'firmware-state.json'));
  assert.is(f.downloadProgress, path.join(dir, 'download-progress.json'));
  assert.equal(L.partFiles(f.package), { part: f.packagePart, meta: f.packagePartMeta });
  assert.equal(L.outboxItemFiles(f.outbox, 'x-receipt'), { der: path.join(f.outbox, 'x-receipt.der'), meta: path.join(f.outbox, 'x-receipt.json') });
});

test('stateLayout: the firmware entries are firmwareLayout of <stateDir>/firmware; no two entries share a path', () => {
  const s = L.stateLayout('/var/lib/enrolld');
  assert.equal(s.firmware, L.firmwareLayout('/var/lib/enrolld/firmware'));
  assert.is(s.firmwareDir, s.firmware.dir);
  assert.is(s.firmwareState, s.firmware.state);
  assert.is(s.downloadProgress, s.firmware.downloadProgress);
  assert.is(s.firmwareLock, s.firmware.lock);
  assert.is(s.firmwarePackage, s.firmware.package);
  assert.is(s.firmwareOutbox, s.firmware.outbox);
  const flat = [...Object.entries(s).filter(([k]) => k !== 'firmware' && k !== 'dir').map(([, v]) => v as string), ...Object.entries(s.firmware).filter(([k]) => k !== 'dir').map(([, v]) => v)];
  const unique = new Set(flat);
  // the five firmware file aliases above are the only repeats
  assert.is(flat.length - unique.size, 5);
  for (const p of flat) assert.ok(p.startsWith('/var/lib/enrolld/'), p);
});

test('bdseqPath: a state directory gets mqtt-bdseq in it; the file itself stays; FileBdSeqStore uses it', () => {
  assert.is(L.bdseqPath('/s'), '/s/mqtt-bdseq');
  assert.is(L.bdseqPath('/s/mqtt-bdseq'), '/s/mqtt-bdseq');
  assert.is(L.bdseqPath('/s/other-mqtt-bdseq'), '/s/other-mqtt-bdseq/mqtt-bdseq');
  assert.is(new FileBdSeqStore('/s').file, L.stateLayout('/s').bdseq);
});

test('configLayout: the configuration directory files provision writes; the default config path; no two share a path', () => {
  const c = L.configLayout('rel/etc');
  const dir = path.resolve('rel/etc');
  assert.is(c.dir, dir);
  assert.is(c.config, path.join(dir, 'config.json'));
  assert.is(c.akRequest, path.join(dir, 'ak-request.json'));
  assert.is(c.idevidCert, path.join(dir, 'idevid-cert.pem'));
  const files = Object.entries(c).filter(([k]) => k !== 'dir').map(([, v]) => v);
  assert.is(new Set(files).size, Object.keys(L.CONFIG_DIR_FILES).length);
  assert.is(L.DEFAULT_CONFIG_PATH, '/etc/enrolld/config.json');
});

test('no agent module outside store/layout.ts spells a state or configuration-directory file name', () => {
  // dist/test/unit → the source tree's agent/
  const agentDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../agent');
  // the names with an extension (the bare ones, est-password or lock, double as step and field names)
  const names = [
    ...Object.values(L.CONFIG_DIR_FILES).filter((n) => n.includes('.')),
    ...Object.values(L.DEMO_FILES).filter((n) => n.includes('.')),
    L.STATE_FILE, L.TRUST_ANCHORS_FILE, L.CRLS_FILE, L.PEER_CERTIFICATES_FILE, L.TAMP_FILE, L.PAL_PROBE_FILE, L.PAL_LAST_POLL_FILE,
    L.FEATURE_STATUS_FILE, L.NEXT_RUN_FILE, L.CMP_PENDING_FILE, L.CMP_ROOT_UPDATE_FILE, L.CMC_PENDING_FILE,
    L.ACME_PENDING_FILE, L.ACME_ACCOUNT_FILE, L.KEYS_FILE, L.FIRMWARE_STATE_FILE, L.DOWNLOAD_PROGRESS_FILE,
  ];
  const offenders: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && p !== path.join(agentDir, 'store', 'layout.ts') && p !== path.join(agentDir, 'config', 'schema.ts')) {
        // string literals only (comments may name the files they describe); schema.ts examples are documentation
        const code = readFileSync(p, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
        for (const n of names) if (code.includes(`'${n}'`) || code.includes(`"${n}"`) || code.includes(`/${n}'`)) offenders.push(`${path.relative(agentDir, p)}: ${n}`);
      }
    }
  };
  walk(agentDir);
  assert.equal(offenders, []);
});

test.run();
