// The building blocks of the configuration schema (schema.ts). Each makes the valibot schema of one kind of field —
// what it accepts, how it is converted and defaulted, the message that says what is wrong with it — and records the
// line the generated documentation prints for it (docs.ts). Every field of config.json is one call of one of these.
import path from 'node:path';
import * as v from 'valibot';

/** What the documentation says about one field or section. */
export interface FieldDoc {
  /** The type as printed: "string", "integer 100–600000", "https URL", "PEM file", … */
  type: string;
  doc: string;
  required: boolean;
  /** The default as printed (a JSON value, or text in `defaultText`). */
  default?: unknown;
  defaultText?: string;
  /** The value the generated example configs show; fields without one are left out of them. */
  example?: unknown;
}

/** How a field is present: required, optional with a default, or optional without one. */
export interface Presence<T> {
  doc: string;
  default?: T;
  /** The default when it is not a constant (e.g. "CN=deviceId"): the field is optional and resolved later. */
  defaultText?: string;
  optional?: true;
  example?: unknown;
  /** The message when a required field is missing (default: the field's own type message). */
  missing?: string;
}

type Wrapped<S extends v.GenericSchema, O> = O extends { default: unknown }
  ? v.OptionalSchema<S, v.InferInput<S>>
  : O extends { optional: true } | { defaultText: string }
    ? v.OptionalSchema<S, undefined>
    : S;

const DOCS = new WeakMap<object, FieldDoc>();
const MISSING = new WeakMap<object, string>();

/** The documentation of a schema made here (undefined for anything else). */
export const docOf = (schema: object): FieldDoc | undefined => DOCS.get(schema);

function field<S extends v.GenericSchema, const O extends Presence<v.InferInput<S>>>(schema: S, type: string, message: string, o: O): Wrapped<S, O> {
  const optional = o.default !== undefined || o.optional === true || o.defaultText !== undefined;
  const out = (o.default !== undefined ? v.optional(schema, o.default as never) : optional ? v.optional(schema) : schema) as Wrapped<S, O>;
  DOCS.set(out, {
    type,
    doc: o.doc,
    required: !optional,
    ...(o.default !== undefined ? { default: o.default } : {}),
    ...(o.defaultText !== undefined ? { defaultText: o.defaultText } : {}),
    ...(o.example !== undefined ? { example: o.example } : {}),
  });
  MISSING.set(out, o.missing ?? message);
  return out;
}

const NON_EMPTY = 'must be a non-empty string';
const LIST = 'must be a list of non-empty strings';
const OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;
const nonEmpty = (message = NON_EMPTY) => v.pipe(v.string(message), v.minLength(1, message));

/** A non-empty string; `check` adds one rule with its own message. */
export function str<const O extends Presence<string>>(o: O & { check?: [(s: string) => boolean, v.ErrorMessage<v.CheckIssue<string>>]; type?: string }) {
  const s = o.check ? v.pipe(nonEmpty(), v.check(o.check[0], o.check[1])) : nonEmpty();
  return field(s, o.type ?? 'string', NON_EMPTY, o);
}

/** A file name; relative names are resolved against the config file's directory. */
export function file<const O extends Presence<string>>(baseDir: string, o: O & { type?: string }) {
  return field(v.pipe(nonEmpty(), v.transform((p: string) => path.resolve(baseDir, p))), o.type ?? 'file', NON_EMPTY, o);
}

/** An absolute https URL; trailing slashes are dropped. */
export function httpsUrl<const O extends Presence<string>>(o: O) {
  const s = v.pipe(
    nonEmpty(),
    v.check((u: string) => URL.canParse(u), 'must be an absolute URL'),
    v.check((u: string) => new URL(u).protocol === 'https:', 'must use https'),
    v.transform((u: string) => u.replace(/\/+$/, '')),
  );
  return field(s, 'https URL', NON_EMPTY, o);
}

/** A dotted-decimal OID. */
export function oid<const O extends Presence<string>>(o: O) {
  return field(v.pipe(nonEmpty(), v.regex(OID, 'must be a dotted OID')), 'OID', NON_EMPTY, o);
}

/** 1–64 bytes of hex, lower-cased. */
export function hex<const O extends Presence<string>>(o: O) {
  const message = 'must be 1–64 bytes of hex';
  return field(v.pipe(nonEmpty(), v.toLowerCase(), v.regex(/^([0-9a-f]{2}){1,64}$/, message)), 'hex', NON_EMPTY, o);
}

export function bool<const O extends Presence<boolean>>(o: O) {
  const message = 'must be true or false';
  return field(v.boolean(message), 'boolean', message, o);
}

export function int<const O extends Presence<number>>(min: number, max: number, o: O & { type?: string }) {
  const m = `must be an integer in [${min}, ${max}]`;
  return field(v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m)), o.type ?? `integer ${min}–${max}`, m, o);
}

export function num<const O extends Presence<number>>(min: number, max: number, o: O) {
  const m = `must be a number in [${min}, ${max}]`;
  return field(v.pipe(v.number(m), v.finite(m), v.minValue(min, m), v.maxValue(max, m)), `number ${min}–${max}`, m, o);
}

/** The discriminating value of one option of a union (protocol). */
export function tag<const T extends string, const O extends Presence<T>>(value: T, o: O & { type: string }) {
  const m = `must be ${value}`;
  return field(v.literal(value, m), o.type, m, o);
}

/** One of a closed set of strings. */
export function oneOf<const T extends string, const O extends Presence<T>>(values: readonly T[], o: O) {
  const m = `must be one of ${values.join(', ')}`;
  return field(v.picklist(values, m), values.join(' | '), m, o);
}

/** true, false, or one of `values`. */
export function boolOr<const T extends string, const O extends Presence<boolean | T>>(values: readonly T[], o: O) {
  const m = `must be true, false or ${values.map((x) => JSON.stringify(x)).join(', ')}`;
  return field(v.union([v.boolean(), v.picklist(values)], m), ['true', 'false', ...values.map((x) => JSON.stringify(x))].join(' | '), m, o);
}

/** A list of non-empty strings (`allowEmpty`: empty strings too); absent: empty. */
export function strList<const O extends Presence<string[]>>(o: O & { allowEmpty?: boolean; type?: string }) {
  return field(v.array(o.allowEmpty ? v.string(LIST) : nonEmpty(LIST), LIST), o.type ?? 'list of strings', LIST, o);
}

/** A list of dotted OIDs; absent: empty. */
export function oidList<const O extends Presence<string[]>>(o: O) {
  return field(v.array(v.pipe(nonEmpty(LIST), v.regex(OID, 'must be a dotted OID')), LIST), 'list of OIDs', LIST, o);
}

export function intList<const O extends Presence<number[]>>(min: number, max: number, o: O) {
  const m = `must be a list of integers in [${min}, ${max}]`;
  return field(v.array(v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m)), m), `list of integers ${min}–${max}`, m, o);
}

/** A TPM persistent handle, 0x81000000–0x81FFFFFF, written as a hex string (a number is accepted too). */
export function handle<const O extends Presence<string | number>>(o: O) {
  const m = 'must be a persistent handle 0x81000000–0x81FFFFFF (hex string)';
  const s = v.pipe(
    v.union([v.string(), v.number()], m),
    v.transform((x: string | number) => (typeof x === 'string' ? (/^0x[0-9a-f]{8}$/i.test(x) ? Number.parseInt(x, 16) : Number.NaN) : x)),
    v.check((n: number) => Number.isInteger(n) && n >= 0x81000000 && n <= 0x81ffffff, m),
  );
  return field(s, 'hex string', m, o);
}

/**
 * A JSON object of the given fields; an unknown field is an error that lists the known ones. `checks` are rules over
 * several of its fields (run once every field is valid).
 */
export function section<E extends v.ObjectEntries, const O extends Presence<v.InferInput<v.StrictObjectSchema<E, undefined>>>>(
  entries: E,
  o: O,
  ...checks: Array<v.GenericValidation<v.InferOutput<v.StrictObjectSchema<E, undefined>>>>
) {
  const keys = Object.keys(entries);
  const strict = v.strictObject(entries, (issue) => {
    if (issue.expected === 'never') return `unknown field (known: ${keys.join(', ')})`;
    const key = issue.path?.at(-1)?.key;
    if (issue.expected !== 'Object' && typeof key === 'string' && key in entries) return MISSING.get(entries[key]!) ?? NON_EMPTY;
    return 'must be an object';
  });
  // valibot's objects take an array; a JSON section may not be one.
  const obj: typeof strict = { ...strict, '~run': (dataset, config) => strict['~run'](Array.isArray(dataset.value) ? { ...dataset, value: null } : dataset, config) };
  // The checks only validate, so the output type is the object's.
  const s = checks.length ? (v.pipe(obj, ...(checks as [v.GenericValidation])) as unknown as typeof obj) : obj;
  return field(s, 'object', o.missing ?? 'must be an object', o);
}

/** A rule over several fields of a section; its error names `at` (a path below the section) or the section itself. */
export function rule<T>(test: (value: T) => boolean, message: string, ...at: string[]): v.GenericValidation<T> {
  const check = v.check(test, message);
  return (at.length ? v.forward(check as never, at as never) : check) as unknown as v.GenericValidation<T>;
}

/** The fields of a section schema (through optional and pipe wrappers), for the documentation walk. */
export function entriesOf(schema: v.GenericSchema): v.ObjectEntries | undefined {
  const s = schema as unknown as { type: string; wrapped?: v.GenericSchema; pipe?: v.GenericSchema[]; entries?: v.ObjectEntries };
  if (s.type === 'optional') return entriesOf(s.wrapped!);
  if (s.pipe) return entriesOf(s.pipe[0]!);
  return s.entries;
}
