/**
 * Development aid, not a test: prints every item where our FETCH answer differs from Dovecot's
 * recorded one (documented differences included). `npm run build && node
 * dist/test/mime/corpus-diff.js [N,N,...]`
 */
import { compareMessage, itemKey, loadManifest } from './corpus.js';
const only = process.argv[2] ? new Set(process.argv[2].split(',').map(Number)) : null;
let same = 0, differ = 0;
for (const e of loadManifest()) {
  if (only && !only.has(e.n)) continue;
  for (const r of compareMessage(e)) {
    if (r.expected.equals(r.got)) { same++; continue; }
    differ++;
    const ex = r.expected.toString('latin1'), go = r.got.toString('latin1');
    let i = 0; while (i < ex.length && ex[i] === go[i]) i++;
    console.log(`${itemKey(e.n, r)}: at ${i}\n  exp: ${JSON.stringify(ex.slice(Math.max(0, i - 60), i + 80))}\n  got: ${JSON.stringify(go.slice(Math.max(0, i - 60), i + 80))}`);
  }
}
console.log(`same ${same} differ ${differ}`);
