#!/usr/bin/python3
# CMP PKIMessage (RFC 4210, pyasn1-modules rfc4210 + rfc2511 CRMF) → JSON, with the RFC 9480 updates the module
# predates: pvno 3 (cmp2021, §2.20) and CertStatus.hashAlg [0] (§2.10). Decodes header, body by type (ir/cr/kur
# CertReqMessages with their templates and the id-aa-attestation extension of draft-ietf-lamps-csr-attestation,
# p10cr, certConf, genm/genp InfoTypeAndValue with the freshness NonceRequest/NonceResponse of
# draft-ietf-lamps-attestation-freshness-08 §5, ip/cp/kup, error, pollReq/pollRep), extraCerts; with --secret=<utf8>
# it recomputes the PasswordBasedMac protection (RFC 4210 §5.1.3.1) over DER(ProtectedPart).
import hashlib
import hmac

import common
from pyasn1.codec.der import decoder as der_decoder, encoder as der_encoder
from pyasn1.type import namedtype, tag, univ
from pyasn1_modules import rfc2459, rfc2511, rfc4210
import decode_csr
import drafts

ID_IT_NONCE_REQUEST = '1.3.6.1.5.5.7.4.99'
ID_IT_NONCE_RESPONSE = '1.3.6.1.5.5.7.4.100'
PASSWORD_BASED_MAC = '1.2.840.113533.7.66.13'
HASH = {'2.16.840.1.101.3.4.2.1': 'sha256', '2.16.840.1.101.3.4.2.2': 'sha384', '1.3.14.3.2.26': 'sha1',
        '1.2.840.113549.2.9': 'sha256', '1.2.840.113549.2.10': 'sha384', '1.2.840.113549.2.7': 'sha1'}


# CertStatus ::= SEQUENCE { certHash OCTET STRING, certReqId INTEGER, statusInfo PKIStatusInfo OPTIONAL,
#                           hashAlg [0] AlgorithmIdentifier{DIGEST-ALGORITHM, {...}} OPTIONAL }  -- RFC 9480 §2.10
class CertStatus(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('certHash', univ.OctetString()),
        namedtype.NamedType('certReqId', univ.Integer()),
        namedtype.OptionalNamedType('statusInfo', rfc4210.PKIStatusInfo()),
        namedtype.OptionalNamedType('hashAlg', rfc2459.AlgorithmIdentifier().subtype(
            explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 0))),
    )


def _body_alternative(nt):
    if nt.name == 'certConf':
        return namedtype.NamedType('certConf', univ.SequenceOf(componentType=CertStatus()).subtype(
            explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 24)))
    if nt.name == 'gen':  # pyasn1-modules 0.2.8 names genp [22] "gen"
        return namedtype.NamedType('genp', nt.asn1Object)
    return nt


class PKIBody(univ.Choice):
    componentType = namedtype.NamedTypes(*[_body_alternative(nt) for nt in rfc4210.PKIBody.componentType.namedTypes])


class PKIMessage(univ.Sequence):
    componentType = namedtype.NamedTypes(*[
        nt if nt.name != 'body' else namedtype.NamedType('body', PKIBody())
        for nt in rfc4210.PKIMessage.componentType.namedTypes])


def tlv_children(b):
    """Raw TLVs inside the outer SEQUENCE (for the exact ProtectedPart bytes)."""
    def length(i):
        n = b[i]
        if n < 0x80:
            return n, i + 1
        k = n & 0x7f
        return int.from_bytes(b[i + 1:i + 1 + k], 'big'), i + 1 + k
    _, i = length(1)
    out = []
    while i < len(b):
        ln, j = length(i + 1)
        out.append(b[i:j + ln])
        i = j + ln
    return out


def der_len(n):
    if n < 0x80:
        return bytes([n])
    s = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(s)]) + s


def general_name(g):
    if g.getName() == 'directoryName':
        return {'directoryName': common.name_str(g['directoryName'])}
    return common.to_json(g)


def itav_json(itav):
    oid = str(itav['infoType'])
    out = {'infoType': oid}
    if itav['infoValue'].isValue:
        raw = itav['infoValue'].asOctets()
        if oid == ID_IT_NONCE_REQUEST:
            out['nonceRequest'] = common.to_json(common.decode(raw, drafts.NonceRequest(), 'NonceRequest'))
        elif oid == ID_IT_NONCE_RESPONSE:
            out['nonceResponse'] = common.to_json(common.decode(raw, drafts.NonceResponse(), 'NonceResponse'))
        else:
            out['infoValueHex'] = common.hexs(raw)
    return out


def template_json(t):
    out = common.to_json(t)
    for k in ('subject', 'issuer'):
        if t[k].isValue:
            out[k] = common.name_str(t[k])
    if t['publicKey'].isValue:
        out['publicKey'] = {'algorithm': str(t['publicKey']['algorithm']['algorithm']),
                            'publicKey': common.hexs(t['publicKey']['subjectPublicKey'].asOctets())}
    if t['extensions'].isValue:
        exts = []
        for e in t['extensions']:
            item = {'extnID': str(e['extnID']), 'critical': bool(e['critical'])}
            if e['extnID'] == drafts.id_aa_attestation:
                item['attestationBundle'] = decode_csr.attestation_bundle_json(e['extnValue'].asOctets())
            else:
                item['valueHex'] = common.hexs(e['extnValue'].asOctets())
            exts.append(item)
        out['extensions'] = exts
    return out


def body_json(body):
    name = body.getName()
    v = body.getComponent()
    out = {'type': name}
    if name in ('ir', 'cr', 'kur', 'krr', 'ccr'):
        msgs = []
        for m in v:
            cr = m['certReq']
            item = {'certReqId': int(cr['certReqId']), 'certTemplate': template_json(cr['certTemplate'])}
            if cr['controls'].isValue:
                item['controls'] = [{'type': str(c['type']), 'valueHex': common.hexs(c['value'].asOctets())} for c in cr['controls']]
            if m['pop'].isValue:
                pop = m['pop']
                item['pop'] = {'type': pop.getName()}
                if pop.getName() == 'signature':
                    item['pop']['algorithmIdentifier'] = str(pop['signature']['algorithmIdentifier']['algorithm'])
                    item['pop']['signatureHex'] = common.hexs(pop['signature']['signature'].asOctets())
            msgs.append(item)
        out['certReqMessages'] = msgs
    elif name == 'p10cr':
        out['csr'] = decode_csr.csr_json(common.untag(der_encoder.encode(v)))
    elif name in ('genm', 'genp'):
        out['itav'] = [itav_json(x) for x in v]
    elif name == 'certConf':
        out['certStatus'] = common.to_json(v)
    elif name in ('ip', 'cp', 'kup'):
        resp = []
        for r in v['response']:
            item = {'certReqId': int(r['certReqId']), 'status': common.to_json(r['status'])}
            if r['certifiedKeyPair'].isValue:
                c = r['certifiedKeyPair']['certOrEncCert']
                if c.getName() == 'certificate':
                    item['certificate'] = common.cert_json(c['certificate'])
            resp.append(item)
        out['response'] = resp
        if v['caPubs'].isValue:
            out['caPubs'] = [common.cert_json(c) for c in v['caPubs']]
    else:
        out['value'] = common.to_json(v)
    return out


def cmp_json(der):
    msg = common.decode(der, PKIMessage(), 'PKIMessage')
    h = msg['header']
    header = {'pvno': int(h['pvno']), 'sender': general_name(h['sender']), 'recipient': general_name(h['recipient'])}
    for k in ('messageTime', 'senderKID', 'recipKID', 'transactionID', 'senderNonce', 'recipNonce', 'freeText'):
        if h[k].isValue:
            header[k] = common.to_json(h[k])
    if h['protectionAlg'].isValue:
        header['protectionAlg'] = {'algorithm': str(h['protectionAlg']['algorithm'])}
    if h['generalInfo'].isValue:
        header['generalInfo'] = [itav_json(x) for x in h['generalInfo']]
    out = {'header': header, 'body': body_json(msg['body'])}
    if msg['protection'].isValue:
        out['protection'] = common.hexs(msg['protection'].asOctets())
    if msg['extraCerts'].isValue:
        out['extraCerts'] = [common.cert_json(c) for c in msg['extraCerts']]
    secret = common.option('secret')
    if secret is not None and h['protectionAlg'].isValue and str(h['protectionAlg']['algorithm']) == PASSWORD_BASED_MAC:
        p = common.decode(h['protectionAlg']['parameters'].asOctets(), rfc4210.PBMParameter(), 'PBMParameter')
        owf, mac = HASH[str(p['owf']['algorithm'])], HASH[str(p['mac']['algorithm'])]
        key = secret.encode() + p['salt'].asOctets()
        for _ in range(int(p['iterationCount'])):
            key = hashlib.new(owf, key).digest()
        parts = tlv_children(der)
        protected = parts[0] + parts[1]
        protected = b'\x30' + der_len(len(protected)) + protected
        out['pbm'] = {'owf': str(p['owf']['algorithm']), 'mac': str(p['mac']['algorithm']), 'iterationCount': int(p['iterationCount'])}
        out['protectionOk'] = hmac.new(key, protected, mac).digest() == msg['protection'].asOctets()
    return out


if __name__ == '__main__':
    common.main(cmp_json)
