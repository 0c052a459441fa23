#!/usr/bin/python3
# ContentInfo{EnvelopedData} (RFC 5652 §6, pyasn1-modules rfc5652) → JSON: version, each RecipientInfo (ktri: rid,
# keyEncryptionAlgorithm; kari: originator key algorithm, key agreement and wrap algorithms, recipient ids; ori: oriType
# and, for id-ori-kem, the KEMRecipientInfo decoded with the ASN.1 of RFC 9629 §3 written out below — pyasn1-modules
# 0.2.8 has no rfc9629), encryptedContentInfo (content type, cipher, IV length). Strict DER.
# Also ContentInfo{AuthEnvelopedData} (RFC 5083, pyasn1-modules rfc5083) with AES-GCM GCMParameters (RFC 5084,
# rfc5084): the same RecipientInfos, authEncryptedContentInfo (nonce length, ICV length) and the mac length.
import common
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.type import constraint, namedtype, tag, univ
from pyasn1_modules import rfc5083, rfc5084, rfc5280, rfc5652

MAX = float('inf')


class KEMRecipientInfo(univ.Sequence):
    """RFC 9629 §3: KEMRecipientInfo."""
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('version', rfc5652.CMSVersion()),
        namedtype.NamedType('rid', rfc5652.RecipientIdentifier()),
        namedtype.NamedType('kem', rfc5280.AlgorithmIdentifier()),
        namedtype.NamedType('kemct', univ.OctetString()),
        namedtype.NamedType('kdf', rfc5280.AlgorithmIdentifier()),
        namedtype.NamedType('kekLength', univ.Integer().subtype(subtypeSpec=constraint.ValueRangeConstraint(1, 65535))),
        namedtype.OptionalNamedType('ukm', rfc5652.UserKeyingMaterial().subtype(
            explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 0))),
        namedtype.NamedType('wrap', rfc5280.AlgorithmIdentifier()),
        namedtype.NamedType('encryptedKey', rfc5652.EncryptedKey()),
    )


ID_ORI_KEM = univ.ObjectIdentifier('1.2.840.113549.1.9.16.13.3')


def alg(a):
    out = {'oid': str(a['algorithm'])}
    if a['parameters'].isValue:
        out['params'] = common.hexs(a['parameters'].asOctets())
    return out


def rid_json(rid):
    name = rid.getName()
    if name == 'subjectKeyIdentifier':
        return {'ski': common.hexs(rid['subjectKeyIdentifier'].asOctets())}
    return ias_json(rid['issuerAndSerialNumber'])


def ias_json(ias):
    return {'issuerRdns': len(ias['issuer'][0]), 'serial': int(ias['serialNumber'])}


def main(der):
    common.decode(der, rfc5652.ContentInfo(), 'ContentInfo')
    ci, _ = der_decoder.decode(der, asn1Spec=rfc5652.ContentInfo())
    auth = ci['contentType'] == rfc5083.id_ct_authEnvelopedData
    if ci['contentType'] != rfc5652.id_envelopedData and not auth:
        raise SystemExit(f'neither EnvelopedData nor AuthEnvelopedData: {ci["contentType"]}')
    env, rest = der_decoder.decode(ci['content'], asn1Spec=rfc5083.AuthEnvelopedData() if auth else rfc5652.EnvelopedData())
    if rest:
        raise SystemExit('trailing bytes after the enveloped data')
    out = {'type': 'authEnvelopedData' if auth else 'envelopedData', 'version': int(env['version']), 'recipientInfos': []}
    for ri in env['recipientInfos']:
        kind = ri.getName()
        r = {'type': kind}
        v = ri[kind]
        if kind == 'ktri':
            r.update(version=int(v['version']), rid=rid_json(v['rid']), keyEncryptionAlgorithm=alg(v['keyEncryptionAlgorithm']),
                     encryptedKeyBytes=len(v['encryptedKey']))
        elif kind == 'kari':
            ok = v['originator']
            r.update(version=int(v['version']), originator=ok.getName(), keyEncryptionAlgorithm=alg(v['keyEncryptionAlgorithm']))
            if ok.getName() == 'originatorKey':
                r['originatorKeyAlgorithm'] = alg(ok['originatorKey']['algorithm'])
                r['originatorPointBytes'] = len(ok['originatorKey']['publicKey'].asOctets())
            wrap, _ = der_decoder.decode(v['keyEncryptionAlgorithm']['parameters'], asn1Spec=rfc5280.AlgorithmIdentifier())
            r['wrap'] = alg(wrap)
            r['recipients'] = []
            for rek in v['recipientEncryptedKeys']:
                kid = rek['rid']
                r['recipients'].append({'rKeyId': common.hexs(kid['rKeyId']['subjectKeyIdentifier'].asOctets())} if kid.getName() == 'rKeyId'
                                       else ias_json(kid['issuerAndSerialNumber']))
        elif kind == 'ori':
            r['oriType'] = str(v['oriType'])
            if v['oriType'] == ID_ORI_KEM:
                common.decode(v['oriValue'].asOctets(), KEMRecipientInfo(), 'KEMRecipientInfo')
                k, _ = der_decoder.decode(v['oriValue'], asn1Spec=KEMRecipientInfo())
                r['kemri'] = {'version': int(k['version']), 'rid': rid_json(k['rid']), 'kem': alg(k['kem']), 'kemctBytes': len(k['kemct']),
                              'kdf': alg(k['kdf']), 'kekLength': int(k['kekLength']), 'wrap': alg(k['wrap']),
                              'encryptedKeyBytes': len(k['encryptedKey'])}
        out['recipientInfos'].append(r)
    if auth:
        eci = env['authEncryptedContentInfo']
        gcm, rest = der_decoder.decode(eci['contentEncryptionAlgorithm']['parameters'], asn1Spec=rfc5084.GCMParameters())
        if rest:
            raise SystemExit('trailing bytes after GCMParameters')
        out['encryptedContentInfo'] = {'contentType': str(eci['contentType']), 'cipher': str(eci['contentEncryptionAlgorithm']['algorithm']),
                                       'nonceBytes': len(gcm['aes-nonce']), 'icvLength': int(gcm['aes-ICVlen']),
                                       'contentBytes': len(eci['encryptedContent'])}
        out['macBytes'] = len(env['mac'])
        out['authAttrs'] = env['authAttrs'].isValue
        return out
    eci = env['encryptedContentInfo']
    iv, _ = der_decoder.decode(eci['contentEncryptionAlgorithm']['parameters'], asn1Spec=univ.OctetString())
    out['encryptedContentInfo'] = {'contentType': str(eci['contentType']), 'cipher': str(eci['contentEncryptionAlgorithm']['algorithm']),
                                   'ivBytes': len(iv), 'contentBytes': len(eci['encryptedContent'])}
    return out


if __name__ == '__main__':
    common.main(main)
