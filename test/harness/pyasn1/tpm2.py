# TPM 2.0 Library Part 2 structures (big-endian, TPM2B = UINT16 size + bytes), parsed by hand here so the test does
# not depend on this repository's unmarshalling: TPMS_ATTEST (§10.12.12), TPMT_PUBLIC (§12.2.4), object Name (Part 1
# §16: nameAlg || H(TPMT_PUBLIC)), TPMT_SIGNATURE (§11.3.4).
import hashlib
import struct

ALG_HASH = {0x0004: 'sha1', 0x000B: 'sha256', 0x000C: 'sha384', 0x000D: 'sha512'}
ALG = {0x0001: 'RSA', 0x0023: 'ECC', 0x0018: 'ECDSA', 0x0014: 'RSASSA', 0x0016: 'RSAPSS', 0x0010: 'NULL',
       0x0006: 'AES', 0x0043: 'CFB', 0x0008: 'KEYEDHASH', 0x0025: 'SYMCIPHER'}
ALG.update({k: v.upper() for k, v in ALG_HASH.items()})
ST = {0x8017: 'ATTEST_CERTIFY', 0x8018: 'ATTEST_QUOTE'}
CURVE = {0x0003: 'NIST_P256', 0x0004: 'NIST_P384', 0x0005: 'NIST_P521'}


class Reader:
    def __init__(self, b):
        self.b, self.i = bytes(b), 0

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError('TPM structure truncated at %d (+%d of %d)' % (self.i, n, len(self.b)))
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack('>H', self.take(2))[0]

    def u32(self):
        return struct.unpack('>I', self.take(4))[0]

    def u64(self):
        return struct.unpack('>Q', self.take(8))[0]

    def tpm2b(self):
        return self.take(self.u16())

    def done(self):
        if self.i != len(self.b):
            raise ValueError('%d trailing bytes after TPM structure' % (len(self.b) - self.i))


def attest(b):
    r = Reader(b)
    out = {'magic': '%08x' % r.u32(), 'type': ST.get(r.u16(), 'other')}
    out['qualifiedSigner'] = r.tpm2b().hex()
    out['extraData'] = r.tpm2b().hex()
    out['clockInfo'] = {'clock': r.u64(), 'resetCount': r.u32(), 'restartCount': r.u32(), 'safe': r.u8()}
    out['firmwareVersion'] = '%016x' % r.u64()
    if out['type'] == 'ATTEST_CERTIFY':
        out['certify'] = {'name': r.tpm2b().hex(), 'qualifiedName': r.tpm2b().hex()}
    elif out['type'] == 'ATTEST_QUOTE':
        sels = []
        for _ in range(r.u32()):
            h = r.u16()
            bitmap = r.take(r.u8())
            sels.append({'hash': ALG.get(h, h), 'pcrs': [i for i in range(len(bitmap) * 8) if bitmap[i // 8] >> (i % 8) & 1]})
        out['quote'] = {'pcrSelect': sels, 'pcrDigest': r.tpm2b().hex()}
    else:
        return out
    r.done()
    return out


def _sym(r):
    alg = r.u16()
    if alg == 0x0010:
        return {'algorithm': 'NULL'}
    return {'algorithm': ALG.get(alg, alg), 'keyBits': r.u16(), 'mode': ALG.get(r.u16(), '?')}


def _scheme(r):
    alg = r.u16()
    if alg == 0x0010:
        return {'scheme': 'NULL'}
    return {'scheme': ALG.get(alg, alg), 'hashAlg': ALG.get(r.u16(), '?')}


def public(b):
    """TPMT_PUBLIC (no TPM2B size) of an RSA or ECC key; name = nameAlg || H(nameAlg)(TPMT_PUBLIC)."""
    r = Reader(b)
    typ, name_alg, attrs = r.u16(), r.u16(), r.u32()
    out = {'type': ALG.get(typ, typ), 'nameAlg': ALG.get(name_alg, name_alg), 'objectAttributes': '%08x' % attrs,
           'authPolicy': r.tpm2b().hex()}
    if typ == 0x0023:
        out['parameters'] = {'symmetric': _sym(r), 'scheme': _scheme(r), 'curveID': CURVE.get(r.u16(), '?'),
                             'kdf': _scheme(r)}
        out['unique'] = {'x': r.tpm2b().hex(), 'y': r.tpm2b().hex()}
    elif typ == 0x0001:
        out['parameters'] = {'symmetric': _sym(r), 'scheme': _scheme(r), 'keyBits': r.u16(), 'exponent': r.u32()}
        out['unique'] = {'n': r.tpm2b().hex()}
    else:
        raise ValueError('unsupported TPMT_PUBLIC type %04x' % typ)
    r.done()
    h = ALG_HASH[name_alg]
    out['name'] = struct.pack('>H', name_alg).hex() + hashlib.new(h, bytes(b)).hexdigest()
    return out


def signature(b):
    r = Reader(b)
    alg = r.u16()
    out = {'sigAlg': ALG.get(alg, alg), 'hash': ALG.get(r.u16(), '?')}
    if alg == 0x0018:
        out['r'], out['s'] = r.tpm2b().hex(), r.tpm2b().hex()
    else:
        out['sig'] = r.tpm2b().hex()
    r.done()
    return out
