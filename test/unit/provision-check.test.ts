// checkTpm (agent/cli/provision.ts): the minimum a TPM must offer, with an error naming what is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkTpm, ProvisionCliError } from '../../agent/cli/provision.js';
import type { TpmInfo } from '../../agent/keystore/tpm.js';

// What swtpm 0.7 (Debian 12) reports after swtpm_setup with only the SHA-256 bank active.
const SWTPM: TpmInfo = {
  family: '2.0',
  manufacturer: 'IBM',
  vendor: 'SW   TPM',
  firmware: '8217.4131.22.13878',
  firmwareRaw: [538513443, 1455670],
  pcrBanks: [{ hash: 'sha1', pcrs: 0 }, { hash: 'sha256', pcrs: 24 }],
  transientAvail: 3,
  persistent: 3,
  persistentAvail: 61,
  nvIndices: 2,
  nvCountersAvail: 25,
  nvIndexMax: 2048,
};

const refused = (info: Partial<TpmInfo>, re: RegExp): void =>
  assert.throws(() => checkTpm({ ...SWTPM, ...info }), (e: unknown) => e instanceof ProvisionCliError && e.code === 'provision' && re.test((e as Error).message));

test('a TPM like swtpm passes', () => {
  checkTpm(SWTPM);
});

test('family, SHA-256 bank and transient slots are required', () => {
  refused({ family: '1.2' }, /family "1\.2" is not 2\.0/);
  refused({ pcrBanks: [{ hash: 'sha1', pcrs: 24 }, { hash: 'sha256', pcrs: 0 }] }, /no SHA-256 PCR bank is allocated \(banks: sha1:24 sha256:0\)/);
  refused({ pcrBanks: [] }, /no SHA-256 PCR bank/);
  refused({ transientAvail: 1 }, /only 1 transient object slots/);
});

test.run();
