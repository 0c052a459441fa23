#!/usr/bin/python3
# PKCS#10 CertificationRequest (RFC 2986, pyasn1-modules rfc2986) → JSON, with its attributes decoded: the
# extensionRequest (RFC 2985 §5.4.2, extensions per RFC 5280), challengePassword, and the CSR-attestation attribute
# id-aa-attestation (draft-ietf-lamps-csr-attestation-28 §4.3) down to the TPM structures inside
# Tcg-csr-tpm-certify (TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC) and TcgAttestQuote (TPMS_ATTEST quote, PCR values).
# infoSha1Hex is SHA-1 of the DER re-encoding of certificationRequestInfo (what an id-alg-noSignature value holds,
# RFC 10002 Appendix C.1).
import hashlib
import common
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import char, univ
from pyasn1_modules import rfc2986, rfc5280
import drafts
import tpm2

ID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14'
ID_CHALLENGE_PASSWORD = '1.2.840.113549.1.9.7'


def attestation_bundle_json(der):
    """AttestationBundle DER → JSON; TPM certify statements decoded further."""
    bundle = common.decode(der, drafts.AttestationBundle(), 'AttestationBundle')
    out = {'attestations': [], 'der_ok': True}
    for st in bundle['attestations']:
        item = {'type': str(st['type'])}
        raw = st['stmt'].asOctets()
        if st['type'] == drafts.tcg_attest_tpm_certify:
            t = common.decode(raw, drafts.TcgCsrTpmCertify(), 'Tcg-csr-tpm-certify')
            s = {'tpmSAttest': common.hexs(t['tpmSAttest']), 'signature': common.hexs(t['signature']),
                 'attest': tpm2.attest(t['tpmSAttest'].asOctets()),
                 'tpmtSignature': tpm2.signature(t['signature'].asOctets())}
            if t['tpmTPublic'].isValue:
                s['tpmTPublic'] = common.hexs(t['tpmTPublic'])
                s['public'] = tpm2.public(t['tpmTPublic'].asOctets())
            item['stmt'] = s
        elif st['type'] == drafts.tcg_attest_tpm_quote:
            t = common.decode(raw, drafts.TcgAttestQuote(), 'TcgAttestQuote')
            s = {'tpmSAttest': common.hexs(t['tpmSAttest']), 'signature': common.hexs(t['signature']),
                 'attest': tpm2.attest(t['tpmSAttest'].asOctets()),
                 'tpmtSignature': tpm2.signature(t['signature'].asOctets())}
            if t['pcrValues'].isValue:
                s['pcrValues'] = common.hexs(t['pcrValues'])
            item['stmt'] = s
        else:
            item['stmtHex'] = common.hexs(raw)
        out['attestations'].append(item)
    if bundle['certs'].isValue:
        out['certs'] = []
        for c in bundle['certs']:
            if c.getName() == 'certificate':
                cj = common.cert_json(c['certificate'])
                cj['extensions'] = common.extensions_json(c['certificate']['tbsCertificate']['extensions'])
                out['certs'].append(cj)
            else:
                out['certs'].append({'other': common.to_json(c['other'])})
    return out


def csr_json(der):
    csr = common.decode(der, rfc2986.CertificationRequest(), 'CertificationRequest')
    info = csr['certificationRequestInfo']
    out = {
        'version': int(info['version']),
        'subject': common.name_str(info['subject']),
        'spki': common.spki_json(info['subjectPKInfo']),
        'signatureAlgorithm': common.algid(csr['signatureAlgorithm']),
        'signatureHex': common.hexs(csr['signature'].asOctets()),
        'infoSha1Hex': hashlib.sha1(der_encoder.encode(info)).hexdigest(),
        'attributes': [],
    }
    for a in info['attributes']:
        oid = str(a['type'])
        values = [v.asOctets() for v in a['values']]
        item = {'type': oid, 'count': len(values)}
        if oid == ID_EXTENSION_REQUEST:
            exts = common.decode(values[0], rfc5280.Extensions(), 'extensionRequest')
            item['extensions'] = common.extensions_json(exts)
        elif oid == str(drafts.id_aa_attestation):
            item['bundles'] = [attestation_bundle_json(v) for v in values]
        elif oid == ID_CHALLENGE_PASSWORD:
            v, _ = der_decoder.decode(values[0])
            item['value'] = str(v)
        else:
            item['valuesHex'] = [common.hexs(v) for v in values]
        out['attributes'].append(item)
    return out


if __name__ == '__main__':
    common.main(csr_json)
