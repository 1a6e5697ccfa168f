import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDns } from '../helpers/dns.js';
import { Resolver } from '../../src/dns/resolver.js';
import { findMx, findAddresses } from '../../src/outbound/mx.js';
import { needs } from '../helpers/peers.js';

/** dnsmasq on loopback as "the Internet's DNS" for these names; unknown *.test names are NXDOMAIN. */
const RECORDS = [
  '--local=/test/',
  '--mx-host=remote.test,mx1.remote.test,10', '--mx-host=remote.test,mx2.remote.test,20', '--mx-host=remote.test,mx3.remote.test,20',
  '--host-record=mx1.remote.test,127.0.9.1', '--host-record=mx2.remote.test,127.0.9.2', '--host-record=mx3.remote.test,127.0.9.3,::1',
  '--host-record=plain.test,127.0.9.4',
  '--host-record=six.test,::1',
  '--mx-host=null.test,.,0',
  '--mx-host=ours.test,mail.example.test,5', '--mx-host=ours.test,backup.ours.test,10',
  '--mx-host=backup.test,mx.backup.test,5', '--mx-host=backup.test,mail.example.test,10', '--host-record=mx.backup.test,127.0.9.5',
  '--host-record=ours.test,127.0.9.6',
  '--host-record=mail.example.test,127.0.0.1',
  '--mx-host=noaddr.test,ghost.noaddr.test,10',
];

const self = (x: string) => x === 'mail.example.test' || x === '127.0.0.1';

test('MX lookup: preference order, equal preferences shuffled, A fallback, IPv6, null MX, NXDOMAIN, us in the list', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const dns = await startDns(RECORDS);
  const r = new Resolver([dns.server], 1000);
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const m = await findMx(r, 'remote.test', { isSelf: self, tryNullMxList: true });
      assert.ok(m.ok);
      assert.equal(m.hosts[0].name, 'mx1.remote.test', 'lowest preference first');
      assert.deepEqual(m.hosts[0].addresses, ['127.0.9.1']);
      seen.add(m.hosts[1].name);
      const mx3 = m.hosts.find((h) => h.name === 'mx3.remote.test')!;
      assert.deepEqual(mx3.addresses, ['127.0.9.3', '::1'], 'IPv4 first, then IPv6');
    }
    assert.deepEqual([...seen].sort(), ['mx2.remote.test', 'mx3.remote.test'], 'both orders of the two preference-20 hosts occur');

    const plain = await findMx(r, 'plain.test', { isSelf: self, tryNullMxList: true });
    assert.deepEqual(plain, { ok: true, hosts: [{ name: 'plain.test', preference: 0, addresses: ['127.0.9.4'] }] }, 'no MX: the A record (RFC 5321 5.1)');
    const six = await findMx(r, 'six.test', { isSelf: self, tryNullMxList: true });
    assert.ok(six.ok && six.hosts[0].addresses[0] === '::1', 'AAAA only');

    const nul = await findMx(r, 'null.test', { isSelf: self, tryNullMxList: true });
    assert.deepEqual(nul.ok ? null : [nul.permanent, nul.status], [true, '5.1.10']);
    const nx = await findMx(r, 'nowhere.test', { isSelf: self, tryNullMxList: true });
    assert.deepEqual(nx.ok ? null : [nx.permanent, nx.status], [true, '5.1.2']);
    const noaddr = await findMx(r, 'noaddr.test', { isSelf: self, tryNullMxList: true });
    assert.deepEqual(noaddr.ok ? null : [noaddr.permanent, noaddr.status], [true, '5.4.4']);

    // We are the best MX of ours.test: try_null_mx_list -> its A record; off -> loop error.
    const ours = await findMx(r, 'ours.test', { isSelf: self, tryNullMxList: true });
    assert.deepEqual(ours, { ok: true, hosts: [{ name: 'ours.test', preference: 0, addresses: ['127.0.9.6'] }] });
    const loop = await findMx(r, 'ours.test', { isSelf: self, tryNullMxList: false });
    assert.ok(!loop.ok && loop.permanent && loop.status === '5.4.6' && /loops back to myself/.test(loop.text));
    // We are a backup MX: only the better ones remain.
    const backup = await findMx(r, 'backup.test', { isSelf: self, tryNullMxList: false });
    assert.ok(backup.ok);
    assert.deepEqual(backup.hosts.map((h) => h.name), ['mx.backup.test']);
    // Our own address as the A record: a loop either way.
    const me = await findAddresses(r, 'mail.example.test', { isSelf: self, tryNullMxList: true });
    assert.ok(!me.ok && me.status === '5.4.6');
    const lit = await findMx(r, '[127.0.9.7]', { isSelf: self, tryNullMxList: true });
    assert.deepEqual(lit, { ok: true, hosts: [{ name: '127.0.9.7', preference: 0, addresses: ['127.0.9.7'] }] });
  } finally {
    r.cancel();
    await dns.stop();
  }
});

test('a DNS server that fails is a temporary error (4.4.3), never a bounce', { timeout: 30_000 }, async () => {
  const dns = await startDns([]); // no --local: unknown names are REFUSED
  const r = new Resolver([dns.server], 500);
  try {
    const m = await findMx(r, 'remote.example', { isSelf: self, tryNullMxList: true });
    assert.ok(!m.ok && !m.permanent && m.status === '4.4.3', JSON.stringify(m));
  } finally {
    r.cancel();
    await dns.stop();
  }
  const dead = new Resolver(['127.0.0.1:9'], 300); // nothing listens: timeouts
  const m = await findMx(dead, 'remote.example', { isSelf: self, tryNullMxList: true });
  assert.ok(!m.ok && !m.permanent && m.status === '4.4.3', JSON.stringify(m));
});
