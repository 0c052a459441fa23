#!/usr/bin/python3
# RFC 5914 §2 TrustAnchorChoice (pyasn1-modules rfc5914):
#   decode_trust_anchor.py [file]     DER → JSON {alternative, …fields of that alternative}
import common
from common import der_encoder, hexs
from pyasn1_modules import rfc5914


def run(der):
    c = common.decode(der, rfc5914.TrustAnchorChoice(), 'TrustAnchorChoice')
    name = c.getName()
    v = c.getComponent()
    out = {'alternative': name}
    if name == 'certificate':
        out.update(common.cert_json(v))
    elif name == 'tbsCert':
        out['serialNumber'] = int(v['serialNumber'])
        out['subject'] = common.name_str(v['subject'])
        out['der'] = hexs(common.untag(der_encoder.encode(v)))  # without the [1] EXPLICIT
    else:
        out['version'] = int(v['version'])
        out['pubKey'] = hexs(der_encoder.encode(v['pubKey']))
        out['keyId'] = hexs(v['keyId'].asOctets())
        if v['taTitle'].isValue:
            out['taTitle'] = str(v['taTitle'])
        cp = v['certPath']
        if cp.isValue:
            out['taName'] = common.name_str(cp['taName'])
            if cp['certificate'].isValue:
                out['certificate'] = hexs(b'\x30' + der_encoder.encode(cp['certificate'])[1:])  # [0] IMPLICIT re-tagged
        if v['exts'].isValue:
            out['exts'] = [str(e['extnID']) for e in v['exts']]
    return out


if __name__ == '__main__':
    common.main(run)
