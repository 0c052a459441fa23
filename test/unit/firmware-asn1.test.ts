// RFC 4108 ASN.1 types: DER round trips, decoding of hand-built DER (checked byte by byte against the module's
// IMPLICIT tagging and DEFAULT rules), refusal of malformed input; OID values against the RFC text; the stale-version
// state rules; the incremental SignedData reader against pkijs on a small package.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from '../../agent/pki/asn1/errors.js';
import { CompressedData } from '../../agent/pki/asn1/cms-compressed-data.js';
import { encodeDerHeader } from '../../agent/pki/asn1/cms-signed-data-stream.js';
import { CommunityIdentifiers } from '../../agent/pki/asn1/firmware-community-ids.js';
import { DecryptKeyIdentifier } from '../../agent/pki/asn1/firmware-decrypt-key-id.js';
import { ImplementedCompressAlgorithms } from '../../agent/pki/asn1/firmware-impl-compress-algs.js';
import { ImplementedCryptoAlgorithms } from '../../agent/pki/asn1/firmware-impl-crypto-algs.js';
import { FirmwarePackageLoadError } from '../../agent/pki/asn1/firmware-load-error.js';
import { FirmwarePackageLoadReceipt } from '../../agent/pki/asn1/firmware-load-receipt.js';
import { firmwareReturnMediaType, FIRMWARE_PACKAGE_MEDIA_TYPE } from '../../agent/pki/asn1/firmware-media-types.js';
import { FirmwarePackageMessageDigest } from '../../agent/pki/asn1/firmware-message-digest.js';
import * as O from '../../agent/pki/asn1/firmware-oids.js';
import { FirmwarePackageIdentifier } from '../../agent/pki/asn1/firmware-package-identifier.js';
import { FirmwarePackageInfo } from '../../agent/pki/asn1/firmware-package-info.js';
import { PreferredOrLegacyPackageIdentifier } from '../../agent/pki/asn1/firmware-package-name.js';
import { FirmwarePkgData } from '../../agent/pki/asn1/firmware-pkg-data.js';
import { TargetHardwareIdentifiers } from '../../agent/pki/asn1/firmware-target-hardware-ids.js';
import { WrappedFirmwareKey } from '../../agent/pki/asn1/firmware-wrapped-key.js';
import { checkStale, compareLegacyNames, emptyState, withApplied, withBootConfirmed } from '../../agent/packages/firmware/state.js';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const PKG = '1.3.6.1.4.1.32473.7.1';
const HW = '1.3.6.1.4.1.32473.8.1';

test('OIDs match RFC 4108 §2–§5 and Errata 4093', () => {
  assert.is(O.OID_CT_FIRMWARE_PACKAGE, '1.2.840.113549.1.9.16.1.16');
  assert.is(O.OID_CT_FIRMWARE_LOAD_RECEIPT, '1.2.840.113549.1.9.16.1.17');
  assert.is(O.OID_CT_FIRMWARE_LOAD_ERROR, '1.2.840.113549.1.9.16.1.18');
  assert.is(O.OID_AA_FIRMWARE_PACKAGE_ID, '1.2.840.113549.1.9.16.2.35');
  assert.is(O.OID_AA_TARGET_HARDWARE_IDS, '1.2.840.113549.1.9.16.2.36');
  assert.is(O.OID_AA_DECRYPT_KEY_ID, '1.2.840.113549.1.9.16.2.37');
  assert.is(O.OID_AA_IMPL_CRYPTO_ALGS, '1.2.840.113549.1.9.16.2.38');
  assert.is(O.OID_AA_WRAPPED_FIRMWARE_KEY, '1.2.840.113549.1.9.16.2.39');
  assert.is(O.OID_AA_COMMUNITY_IDENTIFIERS, '1.2.840.113549.1.9.16.2.40');
  assert.is(O.OID_AA_FW_PKG_MESSAGE_DIGEST, '1.2.840.113549.1.9.16.2.41');
  assert.is(O.OID_AA_FIRMWARE_PACKAGE_INFO, '1.2.840.113549.1.9.16.2.42');
  assert.is(O.OID_AA_IMPL_COMPRESS_ALGS, '1.2.840.113549.1.9.16.2.43');
  assert.is(O.OID_ON_HARDWARE_MODULE_NAME, '1.3.6.1.5.5.7.8.4');
  assert.is(O.OID_CT_COMPRESSED_DATA, '1.2.840.113549.1.9.16.1.9');
  assert.is(O.OID_ALG_ZLIB_COMPRESS, '1.2.840.113549.1.9.16.3.8');
  assert.is(O.FirmwareErrorCode.decodeFailure, 1);
  assert.is(O.FirmwareErrorCode.breaksDependency, 36);
  assert.is(O.FirmwareErrorCode.otherError, 99);
  assert.is(Object.keys(O.FirmwareErrorCode).length, 37);
  assert.is(O.firmwareErrorCodeName(28), 'stalePackage');
  assert.is(O.firmwareErrorCodeName(37), undefined);
  assert.match(FIRMWARE_PACKAGE_MEDIA_TYPE, /^application\/cms; .*innerContent=firmwarePackage/);
  assert.is(firmwareReturnMediaType('error', false), 'application/cms; innerContent=firmwareLoadError');
});

test('PreferredOrLegacyPackageIdentifier / FirmwarePackageIdentifier round trips and stale-form rules', () => {
  const p = new FirmwarePackageIdentifier({ name: { preferred: { fwPkgID: PKG, verNum: 300 } }, stale: { preferredStaleVerNum: 255 } });
  // SEQUENCE { SEQUENCE { OID, INTEGER 300 }, INTEGER 255 }
  const d = p.toDER();
  assert.is(hex(d).slice(0, 4), '3016');
  assert.ok(hex(d).endsWith('020200ff'));
  const back = FirmwarePackageIdentifier.fromBER(d);
  assert.equal(back.toJSON(), { name: { preferred: { fwPkgID: PKG, verNum: '300' } }, stale: { preferredStaleVerNum: '255' } });
  const l = new FirmwarePackageIdentifier({ name: { legacy: new TextEncoder().encode('R1.2') }, stale: { legacyStaleVersion: new TextEncoder().encode('R1.0') } });
  assert.is(hex(l.toDER()), '300c' + '04045231 2e32'.replace(' ', '') + '04045231 2e30'.replace(' ', ''));
  assert.equal(FirmwarePackageIdentifier.fromBER(l.toDER()).toJSON(), l.toJSON());
  assert.throws(() => new FirmwarePackageIdentifier({ name: { legacy: new Uint8Array([1]) }, stale: { preferredStaleVerNum: 1 } }), (e: unknown) => e instanceof Asn1EncodeError);
  // preferred name with a legacy stale version: refused on decode
  const mixed = new Uint8Array(new asn1js.Sequence({ value: [new PreferredOrLegacyPackageIdentifier({ preferred: { fwPkgID: PKG, verNum: 5 } }).toSchema(), new asn1js.OctetString({ valueHex: fromHex('ff') })] }).toBER());
  assert.throws(() => FirmwarePackageIdentifier.fromBER(mixed), (e: unknown) => e instanceof Asn1DecodeError);
  assert.throws(() => new PreferredOrLegacyPackageIdentifier({ preferred: { fwPkgID: PKG, verNum: -1 } }), (e: unknown) => e instanceof Asn1EncodeError);
  assert.throws(() => PreferredOrLegacyPackageIdentifier.fromBER(fromHex('3006 0601 2a 0201 ff'.replace(/ /g, ''))), (e: unknown) => (e as Asn1DecodeError).reason === 'constraint');
});

test('OID lists, octet-string attributes, message digest, package info', () => {
  for (const C of [TargetHardwareIdentifiers, ImplementedCryptoAlgorithms, ImplementedCompressAlgorithms]) {
    const x = new C({ oids: [HW, '1.2.840.10045.4.3.2'] });
    const y = C.fromBER(x.toDER());
    assert.equal(y.oids, [HW, '1.2.840.10045.4.3.2']);
    assert.ok(y.includes(HW));
    assert.throws(() => C.fromBER(fromHex('3003020101')), (e: unknown) => e instanceof Asn1DecodeError);
  }
  const dk = new DecryptKeyIdentifier({ value: fromHex('0102') });
  assert.is(hex(dk.toDER()), '04020102');
  assert.equal(DecryptKeyIdentifier.fromBER(dk.toDER()).value, fromHex('0102'));
  assert.equal(FirmwarePkgData.fromBER(new FirmwarePkgData({ value: fromHex('deadbeef') }).toDER()).value, fromHex('deadbeef'));
  const md = new FirmwarePackageMessageDigest({ algorithm: '2.16.840.1.101.3.4.2.1', msgDigest: new Uint8Array(32).fill(7) });
  assert.equal(FirmwarePackageMessageDigest.fromBER(md.toDER()).toJSON(), md.toJSON());
  const info = new FirmwarePackageInfo({ fwPkgType: 2, dependencies: [new PreferredOrLegacyPackageIdentifier({ preferred: { fwPkgID: PKG, verNum: 1 } })] });
  assert.equal(FirmwarePackageInfo.fromBER(info.toDER()).toJSON(), { fwPkgType: '2', dependencies: [{ preferred: { fwPkgID: PKG, verNum: '1' } }] });
  assert.equal(FirmwarePackageInfo.fromBER(new FirmwarePackageInfo({}).toDER()).toJSON(), {});
  assert.equal(FirmwarePackageInfo.fromBER(new FirmwarePackageInfo({ fwPkgType: 5 }).toDER()).toJSON(), { fwPkgType: '5' });
});

test('CommunityIdentifiers: round trip and §2.2.8 membership', () => {
  const c = new CommunityIdentifiers({
    identifiers: [
      { communityOID: '1.3.6.1.4.1.32473.9.1' },
      { hwModuleList: { hwType: HW, hwSerialEntries: [{ single: fromHex('0005') }, { block: { low: fromHex('10'), high: fromHex('20') } }] } },
      { hwModuleList: { hwType: '1.3.6.1.4.1.32473.8.2', hwSerialEntries: [{ all: true }] } },
    ],
  });
  const back = CommunityIdentifiers.fromBER(c.toDER());
  assert.equal(back.toJSON(), c.toJSON());
  assert.ok(back.admits({ communities: ['1.3.6.1.4.1.32473.9.1'] }));
  assert.ok(back.admits({ hwTypes: [HW], hwSerialNum: fromHex('05') }));
  assert.ok(back.admits({ hwTypes: [HW], hwSerialNum: fromHex('0015') }));
  assert.not.ok(back.admits({ hwTypes: [HW], hwSerialNum: fromHex('21') }));
  assert.ok(back.admits({ hwTypes: ['1.3.6.1.4.1.32473.8.2'], hwSerialNum: fromHex('99') }));
  assert.not.ok(back.admits({ hwTypes: [HW] })); // no serial → not on the list
  assert.not.ok(back.admits({}));
});

test('FirmwarePackageLoadReceipt: DEFAULT version omitted, [1] IMPLICIT decryptKeyID, explicit v1 accepted, v2 refused', () => {
  const r = new FirmwarePackageLoadReceipt({ hwType: HW, hwSerialNum: fromHex('0a0b'), fwPkgName: { preferred: { fwPkgID: PKG, verNum: 7 } }, trustAnchorKeyID: fromHex('aabb'), decryptKeyID: fromHex('cc') });
  const d = r.toDER();
  const seq = asn1js.fromBER(d).result as asn1js.Sequence;
  assert.is(seq.valueBlock.value.length, 5); // no version
  assert.is(hex(new Uint8Array(seq.valueBlock.value[4]!.toBER())), '8101cc'); // [1] IMPLICIT primitive
  assert.equal(FirmwarePackageLoadReceipt.fromBER(d).toJSON(), r.toJSON());
  const withV = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 1 }), ...seq.valueBlock.value] });
  assert.equal(FirmwarePackageLoadReceipt.fromBER(new Uint8Array(withV.toBER())).toJSON(), r.toJSON());
  const v2 = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 2 }), ...(asn1js.fromBER(d).result as asn1js.Sequence).valueBlock.value] });
  assert.throws(() => FirmwarePackageLoadReceipt.fromBER(new Uint8Array(v2.toBER())), (e: unknown) => (e as Asn1DecodeError).reason === 'constraint');
  const minimal = new FirmwarePackageLoadReceipt({ hwType: HW, hwSerialNum: fromHex('01'), fwPkgName: { legacy: fromHex('31') } });
  assert.equal(FirmwarePackageLoadReceipt.fromBER(minimal.toDER()).toJSON(), { version: 1, hwType: HW, hwSerialNum: '01', fwPkgName: { legacy: '31' } });
});

test('FirmwarePackageLoadError: every field, [1] IMPLICIT config, otherError needs vendorErrorCode, unknown codes refused', () => {
  const e = new FirmwarePackageLoadError({
    hwType: HW,
    hwSerialNum: fromHex('01'),
    errorCode: 'stalePackage',
    vendorErrorCode: 12,
    fwPkgName: { preferred: { fwPkgID: PKG, verNum: 3 } },
    config: [{ fwPkgType: 1, fwPkgName: { preferred: { fwPkgID: PKG, verNum: 4 } } }, { fwPkgName: { legacy: fromHex('41') } }],
  });
  const d = e.toDER();
  const kids = (asn1js.fromBER(d).result as asn1js.Sequence).valueBlock.value;
  assert.is(kids.length, 6);
  assert.is(kids[2]!.idBlock.tagNumber, 10); // ENUMERATED
  assert.is(hex(new Uint8Array(kids[2]!.toBER())), '0a011c'); // stalePackage = 28
  assert.ok(kids[5]!.idBlock.tagClass === 3 && kids[5]!.idBlock.tagNumber === 1 && kids[5]!.idBlock.isConstructed);
  const back = FirmwarePackageLoadError.fromBER(d);
  assert.equal(back.toJSON(), e.toJSON());
  assert.is(back.errorName, 'stalePackage');
  assert.equal(FirmwarePackageLoadError.fromBER(new FirmwarePackageLoadError({ hwType: HW, hwSerialNum: fromHex('01'), errorCode: 1 }).toDER()).toJSON().errorName, 'decodeFailure');
  assert.throws(() => new FirmwarePackageLoadError({ hwType: HW, hwSerialNum: fromHex('01'), errorCode: 'otherError' }), (x: unknown) => x instanceof Asn1EncodeError);
  const bad = new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: HW }), new asn1js.OctetString({ valueHex: fromHex('01') }), new asn1js.Enumerated({ value: 40 })] });
  assert.throws(() => FirmwarePackageLoadError.fromBER(new Uint8Array(bad.toBER())), (x: unknown) => (x as Asn1DecodeError).reason === 'constraint');
  const other = new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: HW }), new asn1js.OctetString({ valueHex: fromHex('01') }), new asn1js.Enumerated({ value: 99 })] });
  assert.throws(() => FirmwarePackageLoadError.fromBER(new Uint8Array(other.toBER())), (x: unknown) => (x as Asn1DecodeError).reason === 'missing-field');
  assert.throws(() => FirmwarePackageLoadError.fromBER(fromHex('3000')), (x: unknown) => x instanceof Asn1DecodeError);
});

test('CompressedData and WrappedFirmwareKey', () => {
  const c = new CompressedData({ eContentType: O.OID_CT_FIRMWARE_PACKAGE, eContent: fromHex('789c0300000000000001') });
  const back = CompressedData.fromBER(c.toDER());
  assert.is(back.compressionAlgorithm.algorithmId, O.OID_ALG_ZLIB_COMPRESS);
  assert.equal(back.compressedContent, fromHex('789c0300000000000001'));
  assert.throws(() => WrappedFirmwareKey.fromBER(fromHex('3000')), (e: unknown) => e instanceof Asn1DecodeError);
});

test('encodeDerHeader: short and long forms', () => {
  assert.is(hex(encodeDerHeader(0x04, 5)), '0405');
  assert.is(hex(encodeDerHeader(0x04, 128)), '048180');
  assert.is(hex(encodeDerHeader(0x30, 256 * 1024 * 1024)), '308410000000');
});

test('stale / downgrade rules and state transitions (RFC 4108 §1.2.3)', () => {
  const id = (v: number, stale?: number): FirmwarePackageIdentifier =>
    new FirmwarePackageIdentifier({ name: { preferred: { fwPkgID: PKG, verNum: v } }, ...(stale !== undefined ? { stale: { preferredStaleVerNum: stale } } : {}) });
  let s = emptyState();
  assert.is(checkStale(s, id(1)), undefined);
  s = withApplied(s, id(5, 3), { imageSha256: 'aa', at: '2025-01-01T00:00:00Z' });
  assert.is(s.pending?.status, 'pending-reboot');
  assert.ok(checkStale(s, id(5)));
  assert.ok(checkStale(s, id(4)));
  assert.is(checkStale(s, id(6)), undefined);
  s = withBootConfirmed(s);
  assert.is(s.pending, undefined);
  assert.equal(s.installed?.name, { preferred: { fwPkgID: PKG, verNum: '5' } });
  // Another package line replaces it; the stale list still protects the first line.
  s = withApplied(s, new FirmwarePackageIdentifier({ name: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.2', verNum: 1 } } }), { imageSha256: 'bb', at: 'x' });
  s = withBootConfirmed(s);
  assert.ok(checkStale(s, id(3)));
  assert.is(checkStale(s, id(4)), undefined);
  // Legacy ordering
  const enc = (x: string): Uint8Array => new TextEncoder().encode(x);
  assert.ok(compareLegacyNames(enc('R1.10'), enc('R1.9')) > 0);
  assert.ok(compareLegacyNames(enc('R1.2'), enc('R1.2')) === 0);
  assert.ok(compareLegacyNames(fromHex('0100'), fromHex('ff')) > 0);
});

test.run();
