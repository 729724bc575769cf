// Parse Mermaid diagrams with the mermaid package's own parser, as GitHub's renderer would:
//   node parse.mjs FILE...
// prints one JSON line per file: {"file", "ok", "type" | "error"}; exits 1 if one fails.
// Run from a folder whose node_modules holds this folder's package.json (tests/test_access.py
// and .ci/run install it with `npm ci`).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const home = process.env.EKS_CHECKS_MERMAID_HOME || process.cwd();
const require = createRequire(join(home, 'package.json'));
const { JSDOM } = require('jsdom');
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const entry = pathToFileURL(require.resolve('mermaid'));
const { default: mermaid } = await import(entry.href);

let failed = false;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  try {
    const result = await mermaid.parse(text);
    console.log(JSON.stringify({ file, ok: true, type: result.diagramType }));
  } catch (error) {
    failed = true;
    console.log(JSON.stringify({ file, ok: false, error: String(error.message).split('\n')[0] }));
  }
}
process.exit(failed ? 1 : 0);
