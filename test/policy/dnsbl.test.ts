import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { startDns, type TestDns } from '../helpers/dns.js';
import { RawSmtp } from '../smtp/client.js';
import { dnsListName } from '../../src/policy/ip.js';
import { startBlackhole, type Blackhole } from './world.js';
import { codes, talk } from './smtp.js';
import { missingPeers } from '../helpers/peers.js';

/** Every test here needs these peers (the hooks start them): skipped with the install line without them. */
const skip = missingPeers('dnsmasq');

/**
 * S28 DNS block lists through real sessions: each list with its own text, checked at RCPT
 * (delay_checks, the seed's setting) or before any command; IPv6 clients and lists; an allow
 * list wins; a list that never answers does not block mail; an access OK skips the lists.
 */

const dir = mkdtempSync(join(tmpdir(), 'correo-dnsbl-'));
let dns: TestDns;
let hole: Blackhole;
let delayed: TestServer;
let early: TestServer;
let v6port = 0;

const LISTS = `[policy]
dnsbl_timeout = 700
dnswl = ["wl.test"]
dnsbl = [
  { zone = "slow.test", message = "never said" },
  { zone = "zen.test", message = "Rejected - see http://zen.test/query/%s" },
  { zone = "dul.test", message = "Rejected - dynamic address $&{client_addr}" },
  { zone = "v6.test", message = "IPv6 %s is listed" },
]
`;

test.before(async () => {
  if (skip) return;
  hole = await startBlackhole();
  dns = await startDns([
    `--server=/slow.test/${hole.dnsmasqTarget}`,
    '--local=/zen.test/', '--local=/dul.test/', '--local=/wl.test/', '--local=/v6.test/',
    '--address=/2.0.0.127.zen.test/127.0.0.2',
    '--address=/3.0.0.127.zen.test/127.0.0.2', '--address=/3.0.0.127.wl.test/127.0.0.2',
    '--address=/4.0.0.127.dul.test/127.0.0.10',
    '--address=/5.0.0.127.zen.test/127.0.0.2',
    `--host-record=${dnsListName('::1', 'v6.test')},127.0.0.2`,
  ]);
  writeFileSync(join(dir, 'access'), 'Connect:127.0.0.5 OK\nSpam:postmaster@example.test FRIEND\n');
  [delayed, early] = await Promise.all([
    startServer({ dns, toml: `${LISTS}delay_checks = true\n[smtp]\nlisten = ["127.0.0.1:0", "[::1]:0"]\n[maps]\naccess = "${join(dir, 'access')}"\n` }),
    startServer({ dns, toml: `${LISTS}delay_checks = false\n[maps]\naccess = "${join(dir, 'access')}"\n` }),
  ]);
  v6port = (JSON.parse(readFileSync(join(delayed.dir, 'listening.json'), 'utf8')) as Record<string, { port: number }[]>).smtp[1].port;
  for (const s of [delayed, early]) {
    await s.addUser('usr@example.test', 'pw-usr-1');
    await s.addUser('admin@example.test', 'pw-admin-1');
  }
});
test.after(async () => {
  await Promise.all([delayed?.stop(), early?.stop()]);
  await dns?.stop();
  await hole?.close();
  rmSync(dir, { recursive: true, force: true });
});

const TX = ['EHLO client.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>'];

test('delay_checks: a listed client is refused at RCPT with its list\'s text; mail to a FRIEND still passes', { timeout: 60000, skip }, async () => {
  const r = await talk(delayed.ports.smtp, '127.0.0.2', [...TX, 'RCPT TO:<postmaster@example.test>']);
  assert.deepEqual(codes(r).slice(1, 3).map((x) => x.slice(0, 3)), ['250', '250']);
  assert.equal(codes(r)[3], '550 5.7.1 Rejected - see http://zen.test/query/127.0.0.2');
  assert.equal(codes(r)[4], '250 2.1.5 Ok', 'Spam:postmaster FRIEND skips the lists');
  const dul = await talk(delayed.ports.smtp, '127.0.0.4', TX);
  assert.equal(codes(dul)[3], '550 5.7.1 Rejected - dynamic address 127.0.0.4', "sendmail's $&{client_addr}");
});

test('an unlisted client passes, and the list that never answers costs at most its deadline', { timeout: 60000, skip }, async () => {
  const start = Date.now();
  const r = await talk(delayed.ports.smtp, '127.0.0.9', TX);
  assert.equal(codes(r)[3], '250 2.1.5 Ok');
  assert.ok(Date.now() - start < 4000, `took ${Date.now() - start} ms`);
  await new Promise((res) => setTimeout(res, 100));
  assert.doesNotMatch(delayed.readLog(), /policy: rcpt from unknown\[127\.0\.0\.9\]/, 'no refusal logged for it');
});

test('an allow list (DNSWL) wins over a block list; access Connect: OK skips the lists', { timeout: 60000, skip }, async () => {
  assert.equal(codes(await talk(delayed.ports.smtp, '127.0.0.3', TX))[3], '250 2.1.5 Ok');
  const ok = await talk(delayed.ports.smtp, '127.0.0.5', TX);
  assert.equal(codes(ok)[3], '250 2.1.5 Ok');
  const explained = await delayed.cli(['policy', 'check', '--from', 'a@remote.test', '--to', 'usr@example.test', '--ip', '127.0.0.3']);
  assert.equal(explained.code, 0);
  assert.match(explained.stdout, /connect dnswl: whitelist: 127\.0\.0\.3 listed at wl\.test/);
  const listed = await delayed.cli(['policy', 'check', '--from', 'a@remote.test', '--to', 'usr@example.test', '--ip', '127.0.0.2']);
  assert.equal(listed.code, 1);
  assert.match(listed.stdout, /connect dnsbl: skip: slow\.test did not answer \(ETIMEOUT\); not used\n/);
  assert.match(listed.stdout, /connect dnsbl: reject: 127\.0\.0\.2 listed at zen\.test \(127\.0\.0\.2\)\n/);
  assert.match(listed.stdout, /verdict: refused at RCPT: 550 5\.7\.1 Rejected - see http:\/\/zen\.test\/query\/127\.0\.0\.2\n$/);
});

test('an IPv6 client is looked up by nibbles in an IPv6 list', { timeout: 60000, skip }, async () => {
  const c = await RawSmtp.connect(v6port, '::1');
  try {
    await c.reply();
    for (const line of TX.slice(0, 2)) assert.equal((await c.cmd(line)).code, 250);
    const r = await c.cmd(TX[2]);
    assert.equal(r.lines[0], '550 5.7.1 IPv6 ::1 is listed');
  } finally {
    c.destroy();
  }
});

test('without delay_checks a listed client is refused before any command runs', { timeout: 60000, skip }, async () => {
  const r = await talk(early.ports.smtp, '127.0.0.2', ['EHLO client.test', 'QUIT']);
  assert.deepEqual(codes(r).slice(1), ['550 5.7.1 Rejected - see http://zen.test/query/127.0.0.2', '221 2.0.0 Bye']);
  const fine = await talk(early.ports.smtp, '127.0.0.9', TX);
  assert.equal(codes(fine)[3], '250 2.1.5 Ok');
});
