// Assertions shared by the ASN.1 unit tests.
import * as assert from 'uvu/assert';
import { Asn1DecodeError } from '../../agent/pki/asn1/errors.js';

/** `fn` throws an Asn1DecodeError (with `reason`, when given). */
export function throwsDecode(fn: () => unknown, reason?: string): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, Asn1DecodeError, (err as Error).message);
    if (reason) assert.is((err as Asn1DecodeError).reason, reason, (err as Error).message);
    return;
  }
  assert.unreachable('expected Asn1DecodeError');
}
