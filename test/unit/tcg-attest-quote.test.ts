// TcgAttestQuote (agent/pki/asn1/tcg-attest-quote.ts) round trip and refusals; the lab's TPMS_ATTEST quote reader
// (deploy/lab/tpm-quote.ts) on broken input; config attestation.pcrBank / quoteOid.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TcgAttestQuote } from '../../agent/pki/asn1/tcg-attest-quote.js';
import { AttestationStatement } from '../../agent/pki/asn1/evidence-statement.js';
import { Asn1DecodeError } from '../../agent/pki/asn1/errors.js';
import { OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER } from '../../agent/attest/constants.js';
import { parseConfig, ConfigError } from '../../agent/config.js';
import { readQuoteAttest, readTcgAttestQuote } from '../../deploy/lab/tpm-quote.js';

const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

// magic, TPM_ST_ATTEST_QUOTE, qualifiedSigner(2: 000b..), extraData(4), clockInfo, firmwareVersion,
// TPML_PCR_SELECTION {1, sha256, 3, 81 00 01 (PCRs 0, 7, 16)}, pcrDigest(2)
const ATTEST = 'ff544347' + '8018' + '0002000b' + '0004deadbeef' + '0000000000000001' + '00000002' + '00000003' + '01' + '0000000000000004' + '00000001' + '000b' + '03' + '810001' + '0002abcd';

test('TcgAttestQuote: DER round trip, as an AttestationStatement of the configured type, optional pcrValues', () => {
  const q = new TcgAttestQuote({ tpmSAttest: h(ATTEST), signature: h('0018000b'), pcrValues: h('00'.repeat(32)) });
  const back = TcgAttestQuote.fromBER(q.toDER());
  assert.equal(back.toJSON(), q.toJSON());
  const st = q.toAttestationStatement(OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER);
  assert.is(st.type, '2.23.133.20.2');
  const again = TcgAttestQuote.fromAttestationStatement(AttestationStatement.fromSchema(st.toSchema()), OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER);
  assert.equal(again.toJSON(), q.toJSON());
  assert.throws(() => TcgAttestQuote.fromAttestationStatement(st, '1.2.3.4'), (e: unknown) => e instanceof Asn1DecodeError && /expected 1\.2\.3\.4/.test((e as Error).message));
  const bare = TcgAttestQuote.fromBER(new TcgAttestQuote({ tpmSAttest: h('00'), signature: h('01') }).toDER());
  assert.is(bare.pcrValues, undefined);
  assert.throws(() => TcgAttestQuote.fromBER(h('300c040100040101040100040100')), (e: unknown) => e instanceof Asn1DecodeError && /TcgAttestQuote\[3\]/.test((e as Error).message));
  assert.throws(() => TcgAttestQuote.fromBER(h('3003040100')), (e: unknown) => e instanceof Asn1DecodeError);
});

test('lab: TPMS_ATTEST quote reader (magic, type, selection bitmap, exact length); TcgAttestQuote from DER', () => {
  const a = readQuoteAttest(h(ATTEST));
  assert.equal(a.pcrSelect, [{ hashAlg: 0x000b, pcrs: [0, 7, 16] }]);
  assert.is(Buffer.from(a.extraData).toString('hex'), 'deadbeef');
  assert.is(Buffer.from(a.pcrDigest).toString('hex'), 'abcd');
  assert.throws(() => readQuoteAttest(h('ff544348' + ATTEST.slice(8))), /magic/);
  assert.throws(() => readQuoteAttest(h(ATTEST.slice(0, 8) + '8017' + ATTEST.slice(12))), /not TPM_ST_ATTEST_QUOTE/);
  assert.throws(() => readQuoteAttest(h(ATTEST + '00')), /trailing/);
  assert.throws(() => readQuoteAttest(h(ATTEST.slice(0, -4))), /truncated in pcrDigest/);
  const q = new TcgAttestQuote({ tpmSAttest: h(ATTEST), signature: h('0018'), pcrValues: h('11') });
  const r = readTcgAttestQuote(q.toDER());
  assert.is(Buffer.from(r.pcrValues!).toString('hex'), '11');
  assert.throws(() => readTcgAttestQuote(h('3100')), /not a SEQUENCE/);
});

const minimal = () => ({ deviceId: 'dev-1', est: { url: 'https://est.example:8443/', trustAnchorsFile: 'ta.pem' } });

test('config: pcrBank and quoteOid defaults and refusals', () => {
  const c = parseConfig(minimal(), '/etc/enrolld');
  assert.is(c.attestation.pcrBank, 'sha256');
  assert.is(c.attestation.quoteOid, OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER);
  assert.is(parseConfig({ ...minimal(), attestation: { pcrBank: 'sha384', quoteOid: '1.3.6.1.4.1.99999.1', pcrs: [] } }, '/').attestation.quoteOid, '1.3.6.1.4.1.99999.1');
  for (const [att, field] of [[{ pcrBank: 'md5' }, 'attestation.pcrBank'], [{ quoteOid: '2.23.133.20.x' }, 'attestation.quoteOid']] as const) {
    try {
      parseConfig({ ...minimal(), attestation: att }, '/');
      assert.unreachable(field);
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.match((e as Error).message, field);
    }
  }
});

test.run();
