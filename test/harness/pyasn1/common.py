# Shared helpers for the independent decoders: read DER, decode with pyasn1-modules (Debian python3-pyasn1-modules),
# check that the input is exactly the DER re-encoding, and turn pyasn1 values into JSON-able Python.
import base64
import json
import sys

try:
    from pyasn1.codec.der import decoder as der_decoder, encoder as der_encoder
    from pyasn1.type import char, namedtype, tag, univ, useful
    from pyasn1_modules import rfc5280, rfc5652
except ImportError as e:  # the TS harness turns exit code 3 into a clear test failure
    sys.stderr.write('pyasn1/pyasn1_modules missing (%s): install Debian python3-pyasn1-modules and run /usr/bin/python3\n' % e)
    sys.exit(3)

ATTR_NAMES = {
    '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
    '2.5.4.5': 'serialNumber', '0.9.2342.19200300.100.1.25': 'DC', '1.2.840.113549.1.9.1': 'emailAddress',
}


def read_input():
    """DER from the file named by the last argument (or '-'/none: stdin); PEM is refused (wire format is DER)."""
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    if args and args[-1] != '-':
        with open(args[-1], 'rb') as f:
            return f.read()
    return sys.stdin.buffer.read()


def option(name, default=None):
    for a in sys.argv[1:]:
        if a.startswith('--%s=' % name):
            return a.split('=', 1)[1]
    return default


def decode(der, spec, what, exact=True):
    """Strict DER decode: no trailing bytes, and the value must re-encode to exactly the input (DER, not BER).
    exact=False only reports it (CMS SignedData outside the signed attributes may be BER, RFC 5652 §5.3)."""
    obj, rest = der_decoder.decode(der, asn1Spec=spec)
    if rest:
        raise ValueError('%s: %d trailing bytes' % (what, len(rest)))
    again = der_encoder.encode(obj)
    if not exact:
        return obj, again == der
    if again != der:
        raise ValueError('%s: not DER (re-encoding differs: %d vs %d bytes)' % (what, len(again), len(der)))
    return obj


def hexs(b):
    return bytes(b).hex()


def to_json(v):
    """Generic pyasn1 → JSON: SEQUENCE/SET → dict (absent OPTIONALs left out), SEQUENCE OF → list, CHOICE →
    {alternative: value}, OID → dotted string, INTEGER → int, ENUMERATED → name (or int), BIT STRING → '0101…',
    OCTET STRING / ANY → hex, strings and times → str."""
    if v is None or not v.isValue:
        return None
    if isinstance(v, univ.Choice):
        name = v.getName()
        return {name: to_json(v.getComponent())}
    if isinstance(v, (univ.Sequence, univ.Set)):
        out = {}
        for i, nt in enumerate(v.componentType.namedTypes):
            c = v.getComponentByPosition(i, instantiate=False)
            if c is univ.noValue or c is None or not c.isValue:
                continue
            out[nt.name] = to_json(c)
        return out
    if isinstance(v, (univ.SequenceOf, univ.SetOf)):
        return [to_json(x) for x in v]
    if isinstance(v, univ.ObjectIdentifier):
        return str(v)
    if isinstance(v, univ.Boolean):
        return bool(v)
    if isinstance(v, univ.Enumerated):
        p = v.prettyPrint()
        return p if v.namedValues and p in v.namedValues else int(v)
    if isinstance(v, univ.Integer):
        return int(v)
    if isinstance(v, univ.BitString):
        return ''.join(str(b) for b in v)
    if isinstance(v, univ.Null):
        return 'NULL'
    if isinstance(v, (useful.GeneralizedTime, useful.UTCTime)):
        return str(v)
    if isinstance(v, char.AbstractCharacterString):
        return str(v)
    if isinstance(v, (univ.OctetString, univ.Any)):
        return hexs(v.asOctets())
    return v.prettyPrint()


def name_str(name):
    """rfc5280.Name → 'CN=x,O=y' in RDN order (first RDN first)."""
    parts = []
    for rdn in name.getComponentByPosition(0):  # rfc5280 calls the alternative 'rdnSequence', rfc2459 ''
        for atv in rdn:
            oid = str(atv['type'])
            val, _ = der_decoder.decode(atv['value'].asOctets())
            if isinstance(val, univ.Choice):
                val = val.getComponent()
            parts.append('%s=%s' % (ATTR_NAMES.get(oid, oid), str(val)))
    return ','.join(parts)


def spki_json(spki):
    alg = spki['algorithm']
    out = {'algorithm': str(alg['algorithm'])}
    if alg['parameters'].isValue:
        p, _ = der_decoder.decode(alg['parameters'].asOctets())
        out['parameters'] = str(p) if isinstance(p, univ.ObjectIdentifier) else to_json(p)
    out['publicKey'] = hexs(spki['subjectPublicKey'].asOctets())
    return out


def extensions_json(exts):
    out = []
    for e in exts:
        oid = str(e['extnID'])
        item = {'extnID': oid, 'critical': bool(e['critical'])}
        spec = rfc5280.certificateExtensionsMap.get(e['extnID'])
        raw = e['extnValue'].asOctets()
        if spec is not None:
            val, _ = der_decoder.decode(raw, asn1Spec=spec)
            item['value'] = to_json(val)
        else:
            item['valueHex'] = hexs(raw)
        out.append(item)
    return out


def untag(d):
    """An EXPLICIT [n] wrapper (e.g. CertOrEncCert.certificate [0]) removed: the inner TLV."""
    if d[0] == 0x30:
        return d
    n = d[1]
    return d[2 + (n & 0x7f if n & 0x80 else 0):]


def cert_json(cert):
    tbs = cert['tbsCertificate']
    return {
        'serialNumber': int(tbs['serialNumber']),
        'subject': name_str(tbs['subject']),
        'issuer': name_str(tbs['issuer']),
        'spki': spki_json(tbs['subjectPublicKeyInfo']),
        'der': hexs(untag(der_encoder.encode(cert))),
    }


def algid(a):
    out = {'algorithm': str(a['algorithm'])}
    if a['parameters'].isValue:
        out['parametersHex'] = hexs(a['parameters'].asOctets())
    return out


def emit(obj):
    sys.stdout.write(json.dumps(obj, indent=1, sort_keys=True))
    sys.stdout.write('\n')


def main(fn):
    """Run fn(der) → dict; print JSON. Decode errors → exit 2 with the reason on stderr. With --batch, stdin is a
    JSON list of hex DER strings and the output the list of results (one interpreter start for many messages)."""
    try:
        if option('batch') is not None or '--batch' in sys.argv:
            emit([fn(bytes.fromhex(h)) for h in json.loads(sys.stdin.read())])
            return
        emit(fn(read_input()))
    except Exception as e:  # noqa: BLE001 — any decode failure is reported to the test as a failure
        sys.stderr.write('decode failed: %s: %s\n' % (type(e).__name__, e))
        sys.exit(2)
