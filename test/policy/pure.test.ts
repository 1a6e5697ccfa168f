import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnsListName, parseNetwork, contains, addressBytes, ipv6Bytes } from '../../src/policy/ip.js';
import { RateCounter } from '../../src/policy/ratelimit.js';
import { Greylist, clientNetwork } from '../../src/policy/greylist.js';
import { TraceCounter } from '../../src/policy/trace-counter.js';
import { dmarcAction } from '../../src/policy/sender-auth.js';
import { countsAsListed, listMessage } from '../../src/policy/dnsbl.js';
import { arpaToIp } from '../../src/policy/dns.js';
import { parseTarget, parseErrorTarget } from '../../src/delivery/targets.js';

test('DNS list names: IPv4 octets and IPv6 nibbles reversed (RFC 5782 2.1, 2.4)', () => {
  assert.equal(dnsListName('192.0.2.99', 'zen.test'), '99.2.0.192.zen.test');
  assert.equal(dnsListName('::ffff:127.0.0.2', 'zen.test'), '2.0.0.127.zen.test');
  assert.equal(
    dnsListName('2001:db8:1:2:3:4:567:89ab', 'v6.test'),
    'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.v6.test',
  );
  assert.equal(dnsListName('not-an-ip', 'z.test'), null);
  assert.equal(arpaToIp('2.0.0.127.in-addr.arpa'), '127.0.0.2');
  assert.equal(arpaToIp('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'), '2001:0db8:0000:0000:0000:0000:0000:0001');
});

test('networks: octet prefixes, CIDR, IPv6 with embedded IPv4', () => {
  const pfx = parseNetwork('20.20.128.')!;
  assert.deepEqual(pfx, { v: 4, bytes: [20, 20, 128, 0], bits: 24 });
  assert.ok(contains(pfx, addressBytes('20.20.128.200')!));
  assert.deepEqual(parseNetwork('10.')?.bits, 8);
  assert.equal(parseNetwork('10'), null, 'a bare number is not a prefix');
  assert.ok(contains(parseNetwork('192.168.0.0/23')!, addressBytes('192.168.1.5')!));
  assert.ok(!contains(parseNetwork('192.168.0.0/23')!, addressBytes('192.168.2.5')!));
  assert.deepEqual(ipv6Bytes('::ffff:1.2.3.4')!.slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  assert.equal(parseNetwork('1.2.3.256'), null);
});

test('rate counter: a sliding window over two fixed ones', () => {
  let now = 0;
  const c = new RateCounter(60_000, () => now);
  for (let i = 0; i < 3; i++) assert.ok(c.take('a', 3));
  assert.ok(!c.take('a', 3), 'the fourth in the window is refused');
  assert.ok(c.take('b', 3), 'other keys are counted apart');
  assert.ok(c.take('a', 0), 'limit 0 is unlimited');
  now += 60_000; // one window later the previous one still weighs (almost fully)
  assert.ok(!c.take('a', 3));
  now += 59_000; // nearly two windows later: the old events barely count
  assert.ok(c.take('a', 3));
  now += 180_000;
  assert.equal(c.current('a'), 0);
});

test('greylisting: first sight waits, a retry after the delay passes and is remembered', () => {
  let now = 0;
  const g = new Greylist({ delay: 300, retryWindow: 3600, expire: 86400, file: null, now: () => now });
  assert.deepEqual(g.check('192.0.2.1', 'a@remote.test', 'u@example.test'), { kind: 'wait', seconds: 300 });
  now += 100_000;
  assert.deepEqual(g.check('192.0.2.9', 'A@remote.test', 'u@example.test'), { kind: 'wait', seconds: 200 }, 'same /24, sender case-insensitive');
  now += 250_000;
  assert.deepEqual(g.check('192.0.2.1', 'a@remote.test', 'u@example.test'), { kind: 'pass', known: false });
  now += 80_000_000;
  assert.deepEqual(g.check('192.0.2.1', 'a@remote.test', 'u@example.test'), { kind: 'pass', known: true });
  assert.equal(g.check('192.0.2.1', 'b@remote.test', 'u@example.test').kind, 'wait', 'another sender is another triplet');
  assert.equal(clientNetwork('2001:db8:1:2:3::9'), '2001:db8:1:2::/64');
});

test('greylisting: a retry after the retry window starts over', () => {
  let now = 0;
  const g = new Greylist({ delay: 60, retryWindow: 600, expire: 86400, file: null, now: () => now });
  g.check('192.0.2.1', 's@r.test', 'u@e.test');
  now += 3_600_000;
  assert.deepEqual(g.check('192.0.2.1', 's@r.test', 'u@e.test'), { kind: 'wait', seconds: 60 });
});

test('Received lines counted in the header only, across every chunk boundary', () => {
  const msg = Buffer.from('Received: a\r\nreceived: b\r\n\tcontinued Received: no\r\nSubject: x\r\nRECEIVED: c\r\n\r\nReceived: in the body\r\n');
  for (let cut = 0; cut <= msg.length; cut++) {
    const t = new TraceCounter();
    t.push(msg.subarray(0, cut));
    t.push(msg.subarray(cut));
    assert.equal(t.count, 3, `cut at ${cut}`);
  }
  const bytewise = new TraceCounter();
  for (const b of msg) bytewise.push(Buffer.from([b]));
  assert.equal(bytewise.count, 3);
});

test('DNS list answers: 127.0.0.x counts, 127.0.0.1 and 127.255.255.x do not; templates', () => {
  assert.deepEqual(countsAsListed(['127.0.0.2', '127.0.0.1', '127.255.255.254', '10.0.0.1'], []), ['127.0.0.2']);
  assert.deepEqual(countsAsListed(['127.0.0.2', '127.0.0.4'], ['127.0.0.4']), ['127.0.0.4']);
  assert.equal(listMessage('Rejected - see www.mail-abuse.org/rbl/ ($&{client_addr}) %s', '192.0.2.1'), 'Rejected - see www.mail-abuse.org/rbl/ (192.0.2.1) 192.0.2.1');
});

test('DMARC: policy applied only on fail; overrides; pct sampling; switches', () => {
  const cfg = { dmarc_reject: true, dmarc_quarantine: true, domains: {} as Record<string, 'none' | 'quarantine' | 'reject'> };
  const fail = (policy: string, pct?: number) => ({ result: 'fail', domain: 'remote.test', policy, pct });
  assert.equal(dmarcAction({ result: 'pass', domain: 'remote.test', policy: 'reject' }, 'remote.test', cfg).action, 'none');
  assert.equal(dmarcAction(null, null, cfg).action, 'none');
  assert.equal(dmarcAction(fail('reject'), 'remote.test', cfg).action, 'reject');
  assert.equal(dmarcAction(fail('quarantine'), 'remote.test', cfg).action, 'quarantine');
  assert.equal(dmarcAction(fail('none'), 'remote.test', cfg).action, 'none');
  assert.equal(dmarcAction(fail('reject', 50), 'remote.test', cfg, () => 0.9).action, 'quarantine', 'outside the sample: one step milder');
  assert.equal(dmarcAction(fail('reject', 50), 'remote.test', cfg, () => 0.1).action, 'reject');
  assert.equal(dmarcAction(fail('reject'), 'remote.test', { ...cfg, dmarc_reject: false }).action, 'quarantine');
  assert.equal(dmarcAction(fail('reject'), 'remote.test', { ...cfg, dmarc_reject: false, dmarc_quarantine: false }).action, 'none');
  assert.equal(dmarcAction(fail('reject'), 'lists.remote.test', { ...cfg, domains: { 'lists.remote.test': 'none' } }).action, 'none');
});

test('alias and map targets', () => {
  assert.deepEqual(parseTarget('|/usr/bin/procmail -d x'), { kind: 'program', command: '/usr/bin/procmail -d x' });
  assert.deepEqual(parseTarget('"|/usr/bin/vacation usr"'), { kind: 'program', command: '/usr/bin/vacation usr' });
  assert.deepEqual(parseTarget('/var/mail/archive'), { kind: 'file', path: '/var/mail/archive' });
  assert.deepEqual(parseTarget(':include:/etc/correo/lists/staff'), { kind: 'include', path: '/etc/correo/lists/staff' });
  assert.deepEqual(parseTarget('new@Where.TEST.REDIRECT'), { kind: 'redirect', address: 'new@Where.TEST' });
  assert.deepEqual(parseTarget('Boss@Remote.TEST'), { kind: 'address', address: 'Boss@remote.test' });
  assert.deepEqual(parseTarget('\\usr1'), { kind: 'address', address: '\\usr1' });
  assert.deepEqual(parseErrorTarget('nouser 5.1.1 No such person'), { code: 550, enhanced: '5.1.1', text: 'No such person' });
  assert.deepEqual(parseErrorTarget('nouser'), { code: 550, enhanced: '5.1.1', text: 'User unknown' });
  assert.deepEqual(parseErrorTarget('5.7.0:550 Address invalid'), { code: 550, enhanced: '5.7.0', text: 'Address invalid' });
  assert.deepEqual(parseErrorTarget('tempfail try later'), { code: 451, enhanced: '4.0.0', text: 'try later' });
  assert.deepEqual(parseErrorTarget('553 5.1.3 bad'), { code: 553, enhanced: '5.1.3', text: 'bad' });
  assert.equal(typeof parseTarget('two words'), 'string');
  assert.equal(typeof parseTarget('a@b@c.test'), 'string');
  assert.equal(typeof parseTarget(':include:relative'), 'string');
});

test('program input: CRLF to LF at every chunk boundary, lone CRs kept', async () => {
  const { crlfToLf } = await import('../../src/delivery/external.js');
  const input = Buffer.from('a\r\nb\rc\r\n\r\nd\r');
  for (let cut = 0; cut <= input.length; cut++) {
    const t = crlfToLf();
    const parts: Buffer[] = [];
    t.on('data', (d: Buffer) => parts.push(d));
    const done = new Promise((r) => t.on('end', r));
    t.write(input.subarray(0, cut));
    t.end(input.subarray(cut));
    await done;
    assert.equal(Buffer.concat(parts).toString(), 'a\nb\rc\n\nd\r', `cut at ${cut}`);
  }
});
