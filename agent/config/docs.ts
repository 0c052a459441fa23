// The documentation generated from the schema: the field tables of docs/configuration.md and enrolld.json(5), and
// one example config per protocol (deploy/examples/). `node deploy/man/generate-config.mjs` writes them; a unit test
// fails when a file differs from what the schema gives.
import type * as v from 'valibot';
import { docOf, entriesOf, type FieldDoc } from './fields.js';
import { documentSchema, PROTOCOLS, type Protocol } from './schema.js';
import { CONFIG_DIR_FILES, DEFAULT_CONFIG_PATH } from '../store/layout.js';

export interface FieldRow {
  /** Dotted path, e.g. "est.basicAuth.passwordFile". */
  path: string;
  /** A section (object) rather than a field. */
  section: boolean;
  doc: FieldDoc;
}

/** The schema's option for each protocol. */
function options(): Record<Protocol, v.GenericSchema> {
  const variant = documentSchema('/etc/enrolld') as unknown as { options: v.GenericSchema[] };
  return Object.fromEntries(PROTOCOLS.map((p, i) => [p, variant.options[i]!])) as Record<Protocol, v.GenericSchema>;
}

const isProtocolSection = (k: string): k is Exclude<Protocol, 'est'> => k === 'cmp' || k === 'cmc' || k === 'acme';

/** Every documented field and section, in file order; a protocol's section as in that protocol's option. */
export function fieldRows(): FieldRow[] {
  const opts = options();
  const rows: FieldRow[] = [];
  const walk = (s: v.GenericSchema, p: string): void => {
    const doc = docOf(s);
    if (!doc) return;
    const entries = doc.type === 'object' ? entriesOf(s) : undefined;
    rows.push({ path: p, section: entries !== undefined, doc });
    for (const [k, child] of Object.entries(entries ?? {})) walk(child as v.GenericSchema, `${p}.${k}`);
  };
  for (const [k, s] of Object.entries(entriesOf(opts.est)!)) walk(isProtocolSection(k) ? (entriesOf(opts[k])![k] as v.GenericSchema) : (s as v.GenericSchema), k);
  // The top-level fields first, then one section after another.
  const topLevel = (r: FieldRow) => !r.section && !r.path.includes('.');
  return [...rows.filter(topLevel), ...rows.filter((r) => !topLevel(r))];
}

/** The example config of one protocol: every field that has an example value. */
export function exampleConfig(protocol: Protocol): Record<string, unknown> {
  const build = (s: v.GenericSchema): unknown => {
    const doc = docOf(s);
    if (!doc) return undefined;
    const entries = doc.type === 'object' ? entriesOf(s) : undefined;
    if (!entries) return doc.example;
    const out = Object.fromEntries(Object.entries(entries).flatMap(([k, c]) => {
      const x = build(c as v.GenericSchema);
      return x === undefined ? [] : [[k, x]];
    }));
    return Object.keys(out).length ? out : undefined;
  };
  return build(options()[protocol]) as Record<string, unknown>;
}

/** JSON with small objects and lists on one line, as a person would write the file. */
export function formatJson(value: unknown, indent = ''): string {
  const inline = (x: unknown): string =>
    Array.isArray(x) ? `[${x.map(inline).join(', ')}]` : x && typeof x === 'object' ? `{ ${Object.entries(x).map(([k, y]) => `${JSON.stringify(k)}: ${inline(y)}`).join(', ')} }`.replace('{  }', '{}') : JSON.stringify(x);
  const one = inline(value);
  if (indent.length + one.length <= 110 || !value || typeof value !== 'object' || Array.isArray(value)) return one;
  const inner = indent + '  ';
  return `{\n${Object.entries(value).map(([k, y]) => `${inner}${JSON.stringify(k)}: ${formatJson(y, inner)}`).join(',\n')}\n${indent}}`;
}

const shownDefault = (d: FieldDoc): string | undefined =>
  d.defaultText ?? (d.default === undefined ? undefined : typeof d.default === 'number' ? String(Number(d.default.toFixed(4))) : typeof d.default === 'string' ? d.default : JSON.stringify(d.default).replace(/,/g, ', '));

/** "(type, default x)" / "(type, required)" / "(type)". */
export function summary(d: FieldDoc, section: boolean): string {
  const def = shownDefault(d);
  const parts = [section ? 'section' : d.type, ...(d.required ? ['required'] : def !== undefined && !section ? [`default ${def}`] : [])];
  return parts.join(', ');
}

// deploy/examples/: the EST example carries the configuration file's own name
const EXAMPLES: Record<Protocol, string> = { est: CONFIG_DIR_FILES.config, cmp: 'config-cmp.json', cmc: 'config-cmc.json', acme: 'config-acme.json' };

const UNION_TEXT = [
  'The file is one JSON object. Unknown fields are errors (the message lists the known ones), so a typing mistake never goes unnoticed; enrolld exits with status 2 on any configuration error and the service is not restarted for it. Relative file names are resolved against the directory of the configuration file. Secrets (passwords, MAC secrets) are read from files of their own (mode 0600 or 0640 root:enrolld), never from this file.',
  'Only deviceId and est are required for protocol est; every other field has the default shown. The document takes one shape per protocol: protocol cmp needs the cmp section, acme the acme section, cmc the bootstrap credential (identity.bootstrapCertFile and identity.bootstrapKeyFile). The est section is required with every protocol: the PAL always comes from the EST server. A section of another protocol is checked and then ignored, with a warning at start.',
  'Warnings at start (logged as config.warning, the file still loads): a section of another protocol; tamp.hardware absent, so the TAMP target is firmware.hardware; acme.timeoutMs absent while est.timeoutMs is not its default, so the EST timeout also bounds ACME requests (deprecated: set acme.timeoutMs).',
];

// ---------------------------------------------------------------------------------------------------------------
// docs/configuration.md

const md = (s: string): string => s.replace(/\|/g, '\\|');

export function configurationMarkdown(): string {
  const out = ['# Configuration', '', '<!-- Generated from agent/config/schema.ts by `node deploy/man/generate-config.mjs`; do not edit. -->', ''];
  out.push(`\`${DEFAULT_CONFIG_PATH}\` (\`--config\` elsewhere), also described in enrolld.json(5). Examples, one per protocol: ${PROTOCOLS.map((p) => `[\`${EXAMPLES[p]}\`](../deploy/examples/${EXAMPLES[p]})`).join(', ')}.`, '');
  for (const p of UNION_TEXT) out.push(p, '');
  let open = false;
  const header = () => out.push('| Field | Type | Default | Meaning |', '|---|---|---|---|');
  out.push('## Top-level fields', '');
  header();
  open = true;
  for (const r of fieldRows()) {
    if (r.section && !r.path.includes('.')) {
      out.push('', `## ${r.path}`, '', r.doc.doc, '');
      header();
      open = true;
      continue;
    }
    if (!open) header();
    const def = r.doc.required ? '(required)' : r.section ? '' : (shownDefault(r.doc) ?? '');
    out.push(`| \`${r.path}\` | ${md(r.section ? 'section' : r.doc.type)} | ${md(def === '' ? '' : def === '(required)' ? def : `\`${def}\``)} | ${md(r.doc.doc)} |`);
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------------
// enrolld.json(5)

/** Text → roff (man(7)): escapes, dashes, § and ≥, `code` in bold. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/–/g, '\\(en')
    .replace(/§/g, '\\(sc')
    .replace(/≥/g, '\\(>=')
    .replace(/…/g, '...')
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    .replace(/^([.'])/gm, '\\&$1');
}

export function manPage(): string {
  const out = ['.\\" Generated from agent/config/schema.ts by deploy/man/generate-config.mjs; do not edit.', '.TH ENROLLD.JSON 5 "" "enrolld" "File Formats"', '.SH NAME', 'enrolld.json \\- enrolld configuration file', '.SH SYNOPSIS', `\\fI${DEFAULT_CONFIG_PATH}\\fR`, '.SH DESCRIPTION'];
  UNION_TEXT.forEach((p, i) => out.push(...(i ? ['.PP'] : []), roff(p)));
  out.push('.SH TOP-LEVEL FIELDS');
  for (const r of fieldRows()) {
    if (r.section && !r.path.includes('.')) {
      out.push(`.SH ${r.path}`, roff(r.doc.doc));
      continue;
    }
    out.push('.TP', `\\fB${roff(r.path)}\\fR (${roff(summary(r.doc, r.section))})`, roff(r.doc.doc));
  }
  out.push('.SH EXAMPLE', '.nf', ...roff(formatJson(exampleConfig('est'))).split('\n'), '.fi');
  out.push('.PP', roff(`One example per protocol is in the source tree, deploy/examples/ (${PROTOCOLS.map((p) => EXAMPLES[p]).join(', ')}).`));
  out.push('.SH FILES', `\\fI${DEFAULT_CONFIG_PATH}\\fR (a conffile of the Debian package: an edited copy`, 'is kept on upgrade).', '.SH SEE ALSO', '\\fBenrolld\\fR(8)');
  return out.join('\n') + '\n';
}

/** Every generated file, relative to the repository root. */
export function configArtefacts(): Array<{ path: string; text: string }> {
  return [
    { path: 'deploy/man/enrolld.json.5', text: manPage() },
    { path: 'docs/configuration.md', text: configurationMarkdown() },
    ...PROTOCOLS.map((p) => ({ path: `deploy/examples/${EXAMPLES[p]}`, text: formatJson(exampleConfig(p)) + '\n' })),
  ];
}
