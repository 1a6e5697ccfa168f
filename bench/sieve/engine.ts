/**
 * The Sieve engine alone (issue 11 speed): parse and run a 50-rule script (header, address,
 * :matches, envelope :detail, body rules) on a 3 KB message. `npm run build && node
 * dist/bench/sieve/engine.js`. Delivery adds this per recipient; the SMTP-inbound figure with
 * Sieve on is measured by bench/smtp-inbound once delivery runs scripts.
 */
import { parseScript, runScript } from '../../src/sieve/index.js';

const rules: string[] = [];
for (let i = 0; i < 50; i++) {
  const k = i % 5;
  if (k === 0) rules.push(`if header :contains "subject" "project-${i}" { fileinto "P${i}"; stop; }`);
  if (k === 1) rules.push(`if address :is "from" "user${i}@example.org" { fileinto :flags "\\\\Seen" "U${i}"; }`);
  if (k === 2) rules.push(`if header :matches "list-id" "*<list${i}.*" { fileinto "L${i}"; }`);
  if (k === 3) rules.push(`if anyof (header :contains "to" "alias${i}@", envelope :detail "to" "t${i}") { fileinto "A${i}"; }`);
  if (k === 4) rules.push(`if body :contains "keyword${i}" { addflag "\\\\Flagged"; }`);
}
const text = 'require ["fileinto","imap4flags","envelope","subaddress","body"];\n' + rules.join('\n');
const p = parseScript(text); if (p.errors !== undefined) throw new Error(JSON.stringify(p.errors));
const msg = Buffer.from('From: a@example.org\r\nTo: me@example.com\r\nSubject: status report\r\nMessage-ID: <x@y>\r\nContent-Type: text/plain\r\n\r\n' + 'line of text\r\n'.repeat(200));
const N = 5000;
for (let i = 0; i < 500; i++) await runScript(p.script, { message: msg, envelope: { from: 'a@example.org', to: 'me@example.com' } });
let t0 = performance.now();
for (let i = 0; i < N; i++) await runScript(p.script, { message: msg, envelope: { from: 'a@example.org', to: 'me@example.com' } });
const run = (performance.now() - t0) / N;
t0 = performance.now();
for (let i = 0; i < 1000; i++) parseScript(text);
const parse = (performance.now() - t0) / 1000;
console.log(`50 rules, ${msg.length} byte message: run ${(run*1000).toFixed(0)} us, parse ${(parse*1000).toFixed(0)} us, script ${text.length} bytes`);
