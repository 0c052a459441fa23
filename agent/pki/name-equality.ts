// Name comparison during path building (RFC 5280 §7.1): pkijs AttributeTypeAndValue.isEqual compares two string
// values after its stringPrep (trim, collapse spaces, lower case) with String.prototype.localeCompare, whose first
// call in a process builds an ICU collator (≈ 8.5 ms CPU on Node 20 and 24, measured alone) — paid by the first
// chain validation. Two prepared values that are the same string are equal under any collation, and two different
// ones made only of printable ASCII (U+0020–U+007E) are different under the root collation and every locale tested
// (en-US, de, tr, cs, ja, ar, sv: every string of up to three such characters sorts apart). The exception is a
// locale that ignores punctuation (th: "acme-ca" = "acmeca"), where pkijs would match names RFC 4518 keeps apart;
// this check keeps them apart there too. Everything else (non-ASCII values, mixed types) goes to pkijs unchanged.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

// the string types pkijs compares as text (its own list)
const STRING_BLOCKS = new Set(
  [
    asn1js.Utf8String,
    asn1js.BmpString,
    asn1js.UniversalString,
    asn1js.NumericString,
    asn1js.PrintableString,
    asn1js.TeletexString,
    asn1js.VideotexString,
    asn1js.IA5String,
    asn1js.GraphicString,
    asn1js.VisibleString,
    asn1js.GeneralString,
    asn1js.CharacterString,
  ].map((c) => c.blockName()),
);

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

type StringValue = { constructor: { blockName(): string }; valueBlock: { value: unknown } };

function stringOf(v: unknown): string | undefined {
  const value = v as StringValue;
  if (!STRING_BLOCKS.has(value.constructor.blockName())) return undefined;
  return typeof value.valueBlock.value === 'string' ? value.valueBlock.value : undefined;
}

const proto = pkijs.AttributeTypeAndValue.prototype as unknown as { isEqual(this: pkijs.AttributeTypeAndValue, other: unknown): boolean };
const pkijsIsEqual = proto.isEqual;
let installed = false;

/** Installs the fast path on pkijs AttributeTypeAndValue.isEqual (idempotent). */
export function installNameEquality(): void {
  if (installed) return;
  installed = true;
  proto.isEqual = function isEqual(this: pkijs.AttributeTypeAndValue, other: unknown): boolean {
    if (other instanceof pkijs.AttributeTypeAndValue && this.type === other.type) {
      const a = stringOf(this.value);
      const b = a === undefined ? undefined : stringOf(other.value);
      if (a !== undefined && b !== undefined) {
        const pa = pkijs.stringPrep(a);
        const pb = pkijs.stringPrep(b);
        if (pa === pb) return true;
        if (PRINTABLE_ASCII.test(pa) && PRINTABLE_ASCII.test(pb)) return false;
      }
    }
    return pkijsIsEqual.call(this, other);
  };
}

installNameEquality();
