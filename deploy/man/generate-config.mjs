#!/usr/bin/env node
// Writes the configuration documents generated from the schema (agent/config/schema.ts): enrolld.json(5),
// docs/configuration.md and deploy/examples/config*.json. Run after changing a field (test/unit/config-docs fails
// until then):
//
//   npm run -s build && node deploy/man/generate-config.mjs [DIST_DIR]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = path.resolve(process.argv[2] ?? path.join(top, 'dist'));
const { configArtefacts } = await import(pathToFileURL(path.join(dist, 'agent/config/docs.js')).href);
for (const a of configArtefacts()) {
  writeFileSync(path.join(top, a.path), a.text);
  process.stdout.write(`wrote ${a.path}\n`);
}
