// Content-Type parsing (RFC 9110 §8.3.1): type/subtype, case-insensitive, with parameters.

export interface MediaType {
  /** "type/subtype", lower-cased. */
  essence: string;
  /** Parameter names lower-cased; quoted values unquoted. */
  params: Record<string, string>;
}

export function parseMediaType(value: string | undefined): MediaType | undefined {
  if (!value) return undefined;
  const semi = value.indexOf(';');
  const essence = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(essence)) return undefined;
  const params: Record<string, string> = {};
  if (semi >= 0) {
    // parameter = token "=" ( token / quoted-string ); quoted strings may contain ";".
    const re = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
    for (const m of value.slice(semi).matchAll(re)) {
      let v = m[2]!.trim();
      if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
      params[m[1]!.toLowerCase()] = v;
    }
  }
  return { essence, params };
}
