// enrolld configuration: /etc/enrolld/config.json, written once at manufacture. Validated at start against the schema
// (config/schema.ts: every field once; docs/configuration.md and enrolld.json(5) are generated from it); every error
// names the offending field so an operator can fix the file without reading code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as v from 'valibot';
import { EnrolldError } from './util/errors.js';
import { configSchema, type Config } from './config/schema.js';
import { DEFAULT_CONFIG_PATH } from './store/layout.js';

export type { AcmeSettings, CmcSettings, CmpSettings, Config, ConfigWarning, EstConfig, FirmwareSettings, KeyPackageSettings, Protocol, TampSettings } from './config/schema.js';

export { DEFAULT_CONFIG_PATH };

export class ConfigError extends EnrolldError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('config.invalid', `${field}: ${message}`);
    this.field = field;
  }
}

/** The field an issue is about, dotted; a list is named as a whole (its items have no names in the file). */
function fieldOf(issue: v.BaseIssue<unknown>): string {
  const keys: string[] = [];
  for (const p of issue.path ?? []) {
    if (p.type === 'array') break;
    keys.push(String(p.key));
  }
  return keys.join('.') || '(root)';
}

/** Validates a parsed config document; `baseDir` resolves relative file names. */
export function parseConfig(doc: unknown, baseDir = '/etc/enrolld'): Config {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError('(root)', 'must be a JSON object');
  const r = v.safeParse(configSchema(baseDir), doc, { abortEarly: true });
  if (!r.success) throw new ConfigError(fieldOf(r.issues[0]), r.issues[0].message);
  return r.output;
}

/** Validates configuration text (JSON); a syntax error is a ConfigError naming `where`. */
export function parseConfigText(text: string, baseDir: string, where = '(config)'): Config {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(where, `not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(doc, baseDir);
}

/** Reads and validates the config file; a missing or unparsable file is a ConfigError naming the file. */
export function loadConfig(file = DEFAULT_CONFIG_PATH): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`);
  }
  return parseConfigText(text, path.dirname(path.resolve(file)), file);
}
