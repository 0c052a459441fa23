#!/usr/bin/python3
# The freshness NonceRequest / NonceResponse of draft-ietf-lamps-attestation-freshness-08 (ASN.1 in drafts.py):
#   decode_nonce.py --type=request|response [file]     DER → JSON
import common
import drafts


def run(der):
    kind = common.option('type', 'response')
    spec = drafts.NonceRequest() if kind == 'request' else drafts.NonceResponse()
    return common.to_json(common.decode(der, spec, 'Nonce' + kind.capitalize()))


if __name__ == '__main__':
    common.main(run)
