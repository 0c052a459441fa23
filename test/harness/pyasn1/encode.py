#!/usr/bin/python3
# Builds wire structures with pyasn1-modules (not with this repository's code) so the tests can feed them to the
# agent's parsers. Writes DER to stdout.
#   encode.py nonce-request  [--len=N] [--type=OID]
#   encode.py nonce-response --nonce=HEX [--expiry=N] [--type=OID]
#   encode.py certs-only a.der [b.der …]                         RFC 5652 SignedData, no signers, no content
#   encode.py pki-response --txid=N --recipient-nonce=HEX --body-part=N --status=success|failed|pending
#                          [--fail-info=N] [--pend-token=HEX] [--pend-time=YYYYmmddHHMMSSZ] [--status-string=S]
#                                                                 RFC 6402 PKIResponse (the eContent, unsigned)
#   encode.py genp-nonce --txid=HEX --recip-nonce=HEX --nonce=HEX [--expiry=N]
#                                                                 RFC 4210 PKIMessage genp (unprotected), freshness-08 §5
import os
import sys

import common
from pyasn1.codec.der import decoder as der_decoder, encoder as der_encoder
from pyasn1.type import tag, univ, useful
from pyasn1_modules import rfc4210, rfc5280, rfc5652, rfc6402
import drafts

ID_IT_NONCE_RESPONSE = '1.3.6.1.5.5.7.4.100'
opt = common.option


def nonce_request():
    r = drafts.NonceRequest()
    if opt('len'):
        r['len'] = int(opt('len'))
    if opt('type'):
        r['reqTypeInfo']['type'] = univ.ObjectIdentifier(opt('type'))
    return r


def nonce_response():
    r = drafts.NonceResponse()
    r['nonce'] = r.componentType.getTypeByPosition(0).clone(hexValue=opt('nonce', ''))
    if opt('expiry'):
        r['expiry'] = int(opt('expiry'))
    if opt('type'):
        r['respTypeInfo']['type'] = univ.ObjectIdentifier(opt('type'))
    return r


def certs_only(files):
    sd = rfc5652.SignedData()
    sd['version'] = 1
    sd['digestAlgorithms'] = rfc5652.DigestAlgorithmIdentifiers()
    sd['encapContentInfo']['eContentType'] = rfc5652.id_data
    certs = sd['certificates']
    for i, f in enumerate(files):
        with open(f, 'rb') as fh:
            cert, _ = der_decoder.decode(fh.read(), asn1Spec=rfc5280.Certificate())
        choice = rfc5652.CertificateChoices()
        choice['certificate'] = cert
        certs.append(choice)
    sd['signerInfos'] = rfc5652.SignerInfos()
    ci = rfc5652.ContentInfo()
    ci['contentType'] = rfc5652.id_signedData
    ci['content'] = univ.Any(der_encoder.encode(sd))
    return ci


def tagged_attribute(bpid, oid, value):
    a = rfc6402.TaggedAttribute()
    a['bodyPartID'] = bpid
    a['attrType'] = oid
    a['attrValues'].append(univ.Any(der_encoder.encode(value)))
    return a


def pki_response():
    res = rfc6402.PKIResponse()
    res['controlSequence'].append(tagged_attribute(1, rfc6402.id_cmc_transactionId, univ.Integer(int(opt('txid')))))
    res['controlSequence'].append(tagged_attribute(2, rfc6402.id_cmc_recipientNonce, univ.OctetString(hexValue=opt('recipient-nonce'))))
    st = rfc6402.CMCStatusInfoV2()
    status = opt('status')
    st['cMCStatus'] = rfc6402.CMCStatus(status)
    ref = rfc6402.BodyPartReference()
    ref['bodyPartID'] = int(opt('body-part'))
    st['bodyList'].append(ref)
    if opt('status-string'):
        st['statusString'] = opt('status-string')
    if status == 'failed':
        st['otherInfo']['failInfo'] = rfc6402.CMCFailInfo(int(opt('fail-info', '0')))
    elif status == 'pending':
        st['otherInfo']['pendInfo']['pendToken'] = univ.OctetString(hexValue=opt('pend-token'))
        st['otherInfo']['pendInfo']['pendTime'] = useful.GeneralizedTime(opt('pend-time'))
    res['controlSequence'].append(tagged_attribute(3, rfc6402.id_cmc_statusInfoV2, st))
    return res


def genp_nonce():
    msg = rfc4210.PKIMessage()
    h = msg['header']
    h['pvno'] = 2
    for k in ('sender', 'recipient'):
        h[k]['directoryName'].setComponentByPosition(0, rfc4210.rfc2459.RDNSequence())
    h['transactionID'] = univ.OctetString(hexValue=opt('txid')).subtype(explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 4))
    h['senderNonce'] = univ.OctetString(os.urandom(16)).subtype(explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 5))
    h['recipNonce'] = univ.OctetString(hexValue=opt('recip-nonce')).subtype(explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 6))
    itav = rfc4210.InfoTypeAndValue()
    itav['infoType'] = univ.ObjectIdentifier(ID_IT_NONCE_RESPONSE)
    itav['infoValue'] = univ.Any(der_encoder.encode(nonce_response()))
    msg['body']['gen'].append(itav)  # pyasn1-modules 0.2.8 names genp [22] "gen"
    return msg


def main():
    cmd = sys.argv[1]
    files = [a for a in sys.argv[2:] if not a.startswith('--')]
    obj = {'nonce-request': nonce_request, 'nonce-response': nonce_response, 'pki-response': pki_response,
           'genp-nonce': genp_nonce, 'certs-only': lambda: certs_only(files)}[cmd]()
    sys.stdout.buffer.write(der_encoder.encode(obj))


if __name__ == '__main__':
    main()
