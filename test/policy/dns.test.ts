import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDns, type TestDns } from '../helpers/dns.js';
import { Resolver } from '../../src/dns/resolver.js';
import { PolicyDns } from '../../src/policy/dns.js';
import { queryList } from '../../src/policy/dnsbl.js';
import { SenderAuthCheck, type SenderAuthResult } from '../../src/policy/sender-auth.js';
import { startBlackhole, dkimKey, message, signed, type Blackhole } from './world.js';
import { missingPeers } from '../helpers/peers.js';

/** Every test here needs these peers (the hooks start them): skipped with the install line without them. */
const skip = missingPeers('dnsmasq');

let dns: TestDns;
let hole: Blackhole;
const key = dkimKey('signed.test');

test.before(async () => {
  if (skip) return;
  hole = await startBlackhole();
  dns = await startDns([
    // Block lists: answers for 127.0.0.2 (IPv4) and 2001:db8::2 (IPv6), nothing else (NXDOMAIN).
    '--local=/zen.test/', '--address=/2.0.0.127.zen.test/127.0.0.2',
    '--address=/3.0.0.127.zen.test/127.255.255.254',
    '--local=/v6.test/', '--host-record=2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.v6.test,127.0.0.4',
    `--server=/slow.test/${hole.dnsmasqTarget}`,
    // Sender authentication.
    '--local=/remote.test/', '--local=/signed.test/', '--local=/strict.test/', '--local=/soft.test/',
    '--txt-record=remote.test,v=spf1 ip4:127.0.0.2 -all',
    '--txt-record=_dmarc.remote.test,v=DMARC1; p=reject',
    '--txt-record=signed.test,v=spf1 -all',
    '--txt-record=_dmarc.signed.test,v=DMARC1; p=reject',
    '--txt-record=soft.test,v=spf1 -all',
    '--txt-record=_dmarc.soft.test,v=DMARC1; p=quarantine',
    key.record,
  ]);
});
test.after(async () => {
  await dns?.stop();
  await hole?.close();
});

const resolver = () => new Resolver([dns.server], 500);

test('DNS lists: listed, not listed, IPv6, error answers, and a list that never answers', { timeout: 20000, skip }, async () => {
  const lookup = new PolicyDns(resolver(), 800).lookup;
  const zen = { zone: 'zen.test', message: 'Rejected - see http://zen.test/%s', answers: [] };
  assert.deepEqual(await queryList(lookup, '127.0.0.2', zen), { kind: 'listed', zone: 'zen.test', answers: ['127.0.0.2'], message: 'Rejected - see http://zen.test/127.0.0.2' });
  assert.deepEqual(await queryList(lookup, '127.0.0.9', zen), { kind: 'clear', zone: 'zen.test' });
  assert.deepEqual(await queryList(lookup, '127.0.0.3', zen), { kind: 'clear', zone: 'zen.test' }, '127.255.255.254 is the list complaining, not a listing');
  const v6 = await queryList(lookup, '2001:db8::2', { zone: 'v6.test', message: '%s listed', answers: [] });
  assert.equal(v6.kind, 'listed');
  const start = Date.now();
  const slow = await queryList(lookup, '127.0.0.2', { zone: 'slow.test', message: 'x', answers: [] });
  assert.equal(slow.kind, 'error');
  assert.ok(Date.now() - start < 2000, `the deadline holds (${Date.now() - start} ms)`);
});

async function check(msg: Buffer, ip: string, sender: string, over: Partial<{ dmarc_reject: boolean; spf_reject: boolean }> = {}): Promise<SenderAuthResult> {
  const c = new SenderAuthCheck({ ip, helo: 'client.test', sender, hostname: 'mail.example.test' }, new PolicyDns(resolver(), 2000).lookup, {
    enabled: true, dmarc_reject: true, dmarc_quarantine: true, spf_reject: false, domains: {}, timeout: 8000, ...over,
  });
  // Fed in small pieces, as the SMTP session does.
  for (let i = 0; i < msg.length; i += 7) c.write(msg.subarray(i, i + 7));
  const r = await c.result();
  assert.ok(!('error' in r), JSON.stringify(r));
  return r as SenderAuthResult;
}

test('SPF pass from a permitted address: DMARC passes aligned', { timeout: 20000, skip }, async () => {
  const r = await check(message('a@remote.test', 'u@example.test', 'spf pass'), '127.0.0.2', 'a@remote.test');
  assert.equal(r.spf, 'pass');
  assert.equal(r.dmarc?.result, 'pass');
  assert.equal(r.action, 'none');
  assert.match(r.headers, /^Received-SPF: pass /m);
  assert.match(r.headers, /^Authentication-Results: mail\.example\.test;\r\n/m);
  assert.match(r.headers, /spf=pass \(.*\) smtp\.mailfrom=a@remote\.test/);
  assert.match(r.headers, /dmarc=pass/);
  assert.ok(r.headers.endsWith('\r\n'));
});

test('SPF fail and no DKIM: DMARC p=reject asks for rejection', { timeout: 20000, skip }, async () => {
  const r = await check(message('a@remote.test', 'u@example.test', 'forged'), '127.0.0.9', 'a@remote.test');
  assert.equal(r.spf, 'fail');
  assert.equal(r.dmarc?.result, 'fail');
  assert.equal(r.action, 'reject');
  assert.equal(r.fromDomain, 'remote.test');
  const lenient = await check(message('a@remote.test', 'u@example.test', 'forged'), '127.0.0.9', 'a@remote.test', { dmarc_reject: false });
  assert.equal(lenient.action, 'quarantine', 'dmarc_reject off: the next milder action');
});

test('DKIM: a valid signature passes DMARC despite SPF fail; a tampered body does not', { timeout: 20000, skip }, async () => {
  const good = await signed(message('news@signed.test', 'u@example.test', 'signed'), key);
  const r = await check(good, '127.0.0.9', 'bounces@signed.test');
  assert.equal(r.spf, 'fail');
  assert.deepEqual(r.dkim, ['pass (signed.test)']);
  assert.equal(r.dmarc?.result, 'pass');
  assert.equal(r.action, 'none');
  assert.match(r.headers, /dkim=pass header\.i=@signed\.test header\.s=s1/);

  const bad = Buffer.from(good.toString().replace('Hello.', 'Hellx.'));
  const t = await check(bad, '127.0.0.9', 'bounces@signed.test');
  assert.equal(t.dkim[0].startsWith('fail') || t.dkim[0].startsWith('neutral'), true, t.dkim.join());
  assert.equal(t.action, 'reject');
});

test('DMARC p=quarantine; the null sender is checked by HELO', { timeout: 20000, skip }, async () => {
  const r = await check(message('x@soft.test', 'u@example.test', 'soft'), '127.0.0.9', 'x@soft.test');
  assert.equal(r.action, 'quarantine');
  const bounce = await check(message('mailer-daemon@soft.test', 'u@example.test', 'bounce'), '127.0.0.9', '');
  assert.match(bounce.headers, /smtp\.(helo|mailfrom)=/);
});
