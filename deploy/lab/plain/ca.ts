// The plain peer's CA: one self-signed root that issues end-entity certificates directly (the shape of a small
// EST CA such as libest's estCA), built with pkijs and signed with node:crypto. Root key update per RFC 7030 §4.1.3
// (RFC 4210 §4.4): rollover() makes a new root and the OldWithNew / NewWithOld link certificates; certificates
// issued under the old root keep validating while the old root is valid.
import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { der, toAb } from '../pki/der.js';
import { OID } from '../pki/oids.js';
import { pem } from '../pki/pem.js';

export interface RootGeneration {
  name: string;
  certificate: Uint8Array;
  pem: string;
  privateKey: KeyObject;
  spki: Uint8Array;
  keyId: Uint8Array;
  notAfter: Date;
}

export interface RolloverCerts {
  oldWithOld: Uint8Array;
  oldWithNew: Uint8Array;
  newWithOld: Uint8Array;
  newWithNew: Uint8Array;
}

export type PlainProfile = 'client' | 'server' | 'ca';

function nameOf(attrs: Array<[string, string]>): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: attrs.map(([type, v]) => new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value: v }) })),
  });
}

function ext(extnID: string, critical: boolean, value: asn1js.AsnType): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toBER(false) });
}

/** RFC 5280 §4.2.1.2 method (1). */
function keyIdOf(spki: Uint8Array): Uint8Array {
  const info = new pkijs.PublicKeyInfo({ schema: der(spki, 'SubjectPublicKeyInfo') });
  return new Uint8Array(createHash('sha1').update(info.subjectPublicKey.valueBlock.valueHexView).digest());
}

function keyUsage(bits: number[]): pkijs.Extension {
  let v = 0;
  for (const b of bits) v |= 0x80 >> b;
  return ext(OID.keyUsage, true, new asn1js.BitString({ valueHex: toAb(new Uint8Array([v])), unusedBits: 7 - Math.max(...bits) }));
}

/** Builds and signs a certificate (ecdsa-with-SHA256 by the issuer's P-256 key). */
function signCert(o: {
  issuer: pkijs.RelativeDistinguishedNames;
  issuerKeyId: Uint8Array;
  subject: pkijs.RelativeDistinguishedNames;
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  profile: PlainProfile;
  extraExtensions?: pkijs.Extension[];
  signingKey: KeyObject;
}): Uint8Array {
  const spkiInfo = new pkijs.PublicKeyInfo({ schema: der(o.spki, 'SubjectPublicKeyInfo') });
  const isCa = o.profile === 'ca';
  const isRsa = spkiInfo.algorithm.algorithmId === OID.rsaEncryption;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ valueHex: toAb(serial) });
  cert.signature = new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSHA256 });
  cert.issuer = o.issuer;
  cert.subject = o.subject;
  cert.notBefore = new pkijs.Time({ type: 0, value: o.notBefore });
  cert.notAfter = new pkijs.Time({ type: 0, value: o.notAfter });
  cert.subjectPublicKeyInfo = spkiInfo;
  cert.extensions = [
    ext(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: isCa }).toSchema()),
    isCa ? keyUsage([5, 6]) : keyUsage(isRsa ? [0, 2] : [0]),
    ...(isCa ? [] : [ext(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [o.profile === 'server' ? OID.ekuServerAuth : OID.ekuClientAuth] }).toSchema())]),
    ext(OID.subjectKeyId, false, new asn1js.OctetString({ valueHex: toAb(keyIdOf(o.spki)) })),
    ext(OID.authorityKeyId, false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: toAb(o.issuerKeyId) }) }).toSchema()),
    ...(o.extraExtensions ?? []),
  ];
  const tbs = cert.encodeTBS();
  const signature = cryptoSign('sha256', Buffer.from(tbs.toBER(false)), { key: o.signingKey, dsaEncoding: 'der' });
  const whole = new asn1js.Sequence({
    value: [tbs, cert.signature.toSchema(), new asn1js.BitString({ valueHex: toAb(new Uint8Array(signature)) })],
  });
  return new Uint8Array(whole.toBER(false));
}

function newRootKey(): { privateKey: KeyObject; spki: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) };
}

export class PlainCa {
  /** Roots in order of creation; the last one issues. Older ones stay trusted until they expire. */
  readonly generations: RootGeneration[] = [];
  /** The link certificates of each rollover (RFC 7030 §4.1.3). */
  readonly rollovers: RolloverCerts[] = [];

  private constructor(
    private readonly caValidityMs: number,
    private readonly baseName: string,
    private readonly rootNames: 'same' | 'generation',
  ) {}

  /**
   * rootNames 'same' (default): every root generation keeps the CA's name and only the key changes (the RFC 4210
   * §4.4 picture); 'generation': each new root is named "… G<n>".
   */
  static create(opts: { now: Date; caValiditySeconds?: number; name?: string; rootNames?: 'same' | 'generation' }): PlainCa {
    const ca = new PlainCa((opts.caValiditySeconds ?? 10 * 365 * 86_400) * 1000, opts.name ?? 'plain EST root CA', opts.rootNames ?? 'same');
    ca.generations.push(ca.selfSigned(1, newRootKey(), opts.now));
    return ca;
  }

  private rootName(gen: number): pkijs.RelativeDistinguishedNames {
    return nameOf([[OID.commonName, this.rootNames === 'same' ? this.baseName : `${this.baseName} G${gen}`]]);
  }

  private selfSigned(gen: number, key: { privateKey: KeyObject; spki: Uint8Array }, now: Date): RootGeneration {
    const notAfter = new Date(now.getTime() + this.caValidityMs);
    const name = this.rootName(gen);
    const certificate = signCert({
      issuer: name,
      issuerKeyId: keyIdOf(key.spki),
      subject: name,
      spki: key.spki,
      notBefore: new Date(now.getTime() - 3_600_000),
      notAfter,
      profile: 'ca',
      signingKey: key.privateKey,
    });
    return { name: `${this.baseName} (generation ${gen})`, certificate, pem: pem('CERTIFICATE', certificate), privateKey: key.privateKey, spki: key.spki, keyId: keyIdOf(key.spki), notAfter };
  }

  get current(): RootGeneration {
    return this.generations.at(-1)!;
  }

  /** Roots still valid at `at` (candidates for client-certificate validation). */
  roots(at: Date): RootGeneration[] {
    return this.generations.filter((g) => g.notAfter.getTime() > at.getTime());
  }

  /** What /cacerts returns: the current root, plus the three Root CA Key Update certificates after a rollover. */
  caCertificates(): Uint8Array[] {
    const last = this.rollovers.at(-1);
    if (!last) return [this.current.certificate];
    return [last.newWithNew, last.newWithOld, last.oldWithNew];
  }

  /** RFC 7030 §4.1.3 / RFC 4210 §4.4: new root key; OldWithNew and NewWithOld link the two generations. */
  rollover(now: Date): RolloverCerts {
    const old = this.current;
    const gen = this.generations.length + 1;
    const next = this.selfSigned(gen, newRootKey(), now);
    const notBefore = new Date(now.getTime() - 3_600_000);
    const oldWithNew = signCert({
      issuer: this.rootName(gen),
      issuerKeyId: next.keyId,
      subject: this.rootName(gen - 1),
      spki: old.spki,
      notBefore,
      notAfter: old.notAfter,
      profile: 'ca',
      signingKey: next.privateKey,
    });
    const newWithOld = signCert({
      issuer: this.rootName(gen - 1),
      issuerKeyId: old.keyId,
      subject: this.rootName(gen),
      spki: next.spki,
      notBefore,
      notAfter: old.notAfter,
      profile: 'ca',
      signingKey: old.privateKey,
    });
    this.generations.push(next);
    const r = { oldWithOld: old.certificate, oldWithNew, newWithOld, newWithNew: next.certificate };
    this.rollovers.push(r);
    return r;
  }

  /** The chain a server or client certificate from the current root presents to holders of an older root. */
  linkChain(): Uint8Array[] {
    const last = this.rollovers.at(-1);
    return last ? [last.newWithOld] : [];
  }

  issue(o: { subject: pkijs.RelativeDistinguishedNames | Array<[string, string]>; spki: Uint8Array; notBefore: Date; notAfter: Date; profile: PlainProfile; extensions?: pkijs.Extension[] }): Uint8Array {
    const issuer = this.current;
    return signCert({
      issuer: this.rootName(this.generations.length),
      issuerKeyId: issuer.keyId,
      subject: Array.isArray(o.subject) ? nameOf(o.subject) : o.subject,
      spki: o.spki,
      notBefore: o.notBefore,
      notAfter: new Date(Math.min(o.notAfter.getTime(), issuer.notAfter.getTime())),
      profile: o.profile,
      extraExtensions: o.extensions ?? [],
      signingKey: issuer.privateKey,
    });
  }

  /** The root (still valid at `at`) that issued `leaf`, checked with node:crypto; undefined when none did. */
  issuerOf(leaf: X509Certificate, at: Date): RootGeneration | undefined {
    return this.roots(at).find((g) => {
      const root = new X509Certificate(Buffer.from(g.certificate));
      return leaf.checkIssued(root) && leaf.verify(root.publicKey);
    });
  }
}
