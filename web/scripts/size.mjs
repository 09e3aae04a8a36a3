// Prints the gzipped size of the JavaScript each entry loads first (its entry chunk and the
// chunks it imports statically), and fails the build when the helpdesk's exceeds its budget.
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const BUDGET = 300 * 1024;

function firstLoad(html) {
  const text = readFileSync(join(dist, html), 'utf8');
  const files = new Set([...text.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]));
  return [...files].reduce((sum, f) => sum + gzipSync(readFileSync(join(dist, f))).length, 0);
}

const sizes = { helpdesk: firstLoad('index.html'), portal: firstLoad('portal/index.html') };
writeFileSync(join(dist, 'sizes.json'), JSON.stringify(sizes));
for (const [k, v] of Object.entries(sizes)) console.log(`first-load JS (${k}): ${(v / 1024).toFixed(1)} KB gzipped`);
if (sizes.helpdesk > BUDGET) {
  console.error(`helpdesk first-load JS is over its ${BUDGET / 1024} KB budget`);
  process.exit(1);
}
