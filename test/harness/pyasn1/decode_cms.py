#!/usr/bin/python3
# CMS ContentInfo (RFC 5652, pyasn1-modules rfc5652) → JSON. SignedData is decoded field by field (version,
# digestAlgorithms, encapContentInfo, certificates, signerInfos with sid, signed attributes); the encapsulated
# content, or a bare ContentInfo content, is decoded by its content type through the maps the modules register:
# RFC 4108 firmware package load receipt/error, RFC 5934 TAMP messages, RFC 7191 key package receipt/error,
# RFC 6402 CMC PKIData/PKIResponse, RFC 5958/6031 key packages, RFC 3274 CompressedData (zlib content inflated and
# decoded in turn). A SignedData without content and signers is reported as certs-only (RFC 7030 §4.1.3 / RFC 5751
# "degenerate"). An RFC 4108 firmware package's eContent octets are the image itself (below), reported by size and hash.
import hashlib
import zlib

import common
from pyasn1.codec.der import decoder as der_decoder, encoder as der_encoder
import decode_csr
from pyasn1_modules import rfc3274, rfc4108, rfc5652, rfc5934, rfc5958, rfc6031, rfc6402, rfc7191  # noqa: F401 (register maps)

HASHES = {'2.16.840.1.101.3.4.2.1': 'sha256', '2.16.840.1.101.3.4.2.2': 'sha384', '2.16.840.1.101.3.4.2.3': 'sha512'}

NAMES = {
    '1.2.840.113549.1.7.1': 'data', '1.2.840.113549.1.7.2': 'signedData',
    '1.2.840.113549.1.9.16.1.16': 'firmwarePackage', '1.2.840.113549.1.9.16.1.17': 'firmwareLoadReceipt',
    '1.2.840.113549.1.9.16.1.18': 'firmwareLoadError', '1.2.840.113549.1.9.16.1.9': 'compressedData',
    '2.16.840.1.101.2.1.2.78.3': 'keyPackageReceipt', '2.16.840.1.101.2.1.2.78.6': 'keyPackageError',
    '1.3.6.1.5.5.7.12.2': 'PKIData', '1.3.6.1.5.5.7.12.3': 'PKIResponse',
    '2.16.840.1.101.2.1.2.77.1': 'TAMPStatusQuery', '2.16.840.1.101.2.1.2.77.2': 'TAMPStatusResponse',
    '2.16.840.1.101.2.1.2.77.3': 'TAMPUpdate', '2.16.840.1.101.2.1.2.77.4': 'TAMPUpdateConfirm',
    '2.16.840.1.101.2.1.2.77.5': 'TAMPApexUpdate', '2.16.840.1.101.2.1.2.77.6': 'TAMPApexUpdateConfirm',
    '2.16.840.1.101.2.1.2.77.7': 'TAMPCommunityUpdate', '2.16.840.1.101.2.1.2.77.8': 'TAMPCommunityUpdateConfirm',
    '2.16.840.1.101.2.1.2.77.10': 'SequenceNumberAdjust', '2.16.840.1.101.2.1.2.77.11': 'SequenceNumberAdjustConfirm',
    '2.16.840.1.101.2.1.2.77.9': 'TAMPError',
}


ID_CT_FIRMWARE_PACKAGE = '1.2.840.113549.1.9.16.1.16'
ID_ALG_ZLIB_COMPRESS = '1.2.840.113549.1.9.16.3.8'


def content_json(oid, der):
    """Content of type oid → JSON via the registered module types (strict DER); unknown types as hex."""
    spec = rfc5652.cmsContentTypesMap.get(oid)
    out = {'type': str(oid), 'name': NAMES.get(str(oid), '?')}
    if str(oid) == ID_CT_FIRMWARE_PACKAGE:
        # RFC 4108 §2.1.5: FirmwarePkgData "is a straightforward encapsulation in an octet string" — the eContent
        # OCTET STRING is it, as id-data's Data (RFC 5652 §4); §2.2.2 digests that octet string, "[which] contains the
        # firmware package". The module maps the type to FirmwarePkgData() for a ContentInfo content, not an eContent.
        out['firmwarePkgData'] = {'length': len(der), 'sha256': hashlib.sha256(der).hexdigest()}
        return out
    if spec is None or str(oid) == '1.2.840.113549.1.7.1':
        out['hex'] = common.hexs(der)
        return out
    common.decode(der, spec.clone(), out['name'])  # strict DER check
    value, _ = der_decoder.decode(der, asn1Spec=spec.clone(), decodeOpenTypes=True)
    out['value'] = common.to_json(value)
    if str(oid) == str(rfc3274.id_ct_compressedData) and str(value['compressionAlgorithm']['algorithm']) == ID_ALG_ZLIB_COMPRESS:
        eci = value['encapContentInfo']  # RFC 3274 §1.1: eContent is the zlib stream of the inner content
        out['encapsulated'] = content_json(eci['eContentType'], zlib.decompress(eci['eContent'].asOctets()))
    if str(oid) == '1.3.6.1.5.5.7.12.2':  # PKIData: each tcr's PKCS#10 request decoded as a CSR (RFC 5272 §3.2.1.2.1)
        out['requests'] = []
        for r in value['reqSequence']:
            if r.getName() == 'tcr':
                out['requests'].append({'bodyPartID': int(r['tcr']['bodyPartID']),
                                        'csr': decode_csr.csr_json(der_encoder.encode(r['tcr']['certificationRequest']))})
            else:
                out['requests'].append({r.getName(): common.to_json(r.getComponent())})
    return out


def attributes_json(attrs):
    out = {}
    for a in attrs:
        oid = a['attrType']
        spec = rfc5652.cmsAttributesMap.get(oid)
        vals = []
        for v in a['attrValues']:
            raw = v.asOctets()
            if spec is not None:
                vals.append(common.to_json(common.decode(raw, spec.clone(), 'attribute %s' % oid)))
            else:
                vals.append(common.hexs(raw))
        out[str(oid)] = vals
    return out


def sid_json(sid):
    if sid.getName() == 'issuerAndSerialNumber':
        ias = sid['issuerAndSerialNumber']
        return {'issuer': common.name_str(ias['issuer']), 'serialNumber': int(ias['serialNumber'])}
    return {'subjectKeyIdentifier': common.hexs(sid['subjectKeyIdentifier'])}


def signed_data_json(sd, raw):
    eci = sd['encapContentInfo']
    out = {
        'version': int(sd['version']),
        'digestAlgorithms': [str(a['algorithm']) for a in sd['digestAlgorithms']],
        'eContentType': str(eci['eContentType']),
        'eContentTypeName': NAMES.get(str(eci['eContentType']), '?'),
        'certificates': [],
        'crls': len(sd['crls']) if sd['crls'].isValue else 0,
        'signerInfos': [],
    }
    if eci['eContent'].isValue:
        out['eContent'] = content_json(eci['eContentType'], eci['eContent'].asOctets())
    if sd['certificates'].isValue:
        for c in sd['certificates']:
            if c.getName() == 'certificate':
                out['certificates'].append(common.cert_json(c['certificate']))
            else:
                out['certificates'].append({c.getName(): common.hexs(der_encoder.encode(c.getComponent()))})
    for si in sd['signerInfos']:
        s = {
            'version': int(si['version']),
            'sid': sid_json(si['sid']),
            'digestAlgorithm': str(si['digestAlgorithm']['algorithm']),
            'signatureAlgorithm': common.algid(si['signatureAlgorithm']),
            'signatureHex': common.hexs(si['signature']),
        }
        if si['signedAttrs'].isValue:
            s['signedAttrs'] = attributes_json(si['signedAttrs'])
            # the DER the signature covers: the attributes with the SET OF tag (RFC 5652 §5.4)
            tagged = der_encoder.encode(si['signedAttrs'])  # DER: [0] IMPLICIT SET OF, sorted (X.690 §11.6)
            s['signedAttrsDer'] = common.hexs(b'\x31' + tagged[1:])
            s['signedAttrsAreDer'] = tagged in raw  # the bytes sent are exactly the DER encoding
            md = s['signedAttrs'].get('1.2.840.113549.1.9.4')
            h = HASHES.get(s['digestAlgorithm'])
            if md and h and eci['eContent'].isValue:
                s['messageDigestOk'] = md == [hashlib.new(h, eci['eContent'].asOctets()).hexdigest()]
        if si['unsignedAttrs'].isValue:
            s['unsignedAttrs'] = attributes_json(si['unsignedAttrs'])
        out['signerInfos'].append(s)
    out['certsOnly'] = (not eci['eContent'].isValue and len(sd['signerInfos']) == 0
                        and str(eci['eContentType']) == '1.2.840.113549.1.7.1')
    return out


def cms_json(der):
    ci = common.decode(der, rfc5652.ContentInfo(), 'ContentInfo')
    ct = ci['contentType']
    out = {'contentType': str(ct), 'contentTypeName': NAMES.get(str(ct), '?')}
    raw = ci['content'].asOctets()
    if ct == rfc5652.id_signedData:
        sd, exact = common.decode(raw, rfc5652.SignedData(), 'SignedData', exact=False)
        out['signedData'] = signed_data_json(sd, raw)
        # False e.g. when the certificates SET OF is not in DER order, which BER allows outside signedAttrs
        out['signedData']['derExact'] = exact
    else:
        out['content'] = content_json(ct, raw)
    return out


if __name__ == '__main__':
    common.main(cms_json)
