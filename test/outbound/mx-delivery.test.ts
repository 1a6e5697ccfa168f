import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink } from '../helpers/sink.js';
import { startWorld, deadAddress, until } from './world.js';
import { needs } from '../helpers/peers.js';

const MSG = 'From: Ana <ana@origin.example>\r\nTo: friends@example.test\r\nSubject: hello remote\r\nMessage-ID: <mx1@origin.example>\r\n\r\nline one\r\n.starts with a dot\r\n';

test('delivery via MX: preference order, a dead first MX, the whole envelope and message arrive, queue emptied', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink();
  const dead = deadAddress();
  const w = await startWorld({
    dns: [
      '--mx-host=remote.test,mx1.remote.test,10', '--mx-host=remote.test,mx2.remote.test,20',
      `--host-record=mx1.remote.test,${dead}`, `--host-record=mx2.remote.test,${sink.host}`,
    ],
    toml: `[outbound]\nport = ${sink.port}\nconnect_timeout = 5`,
    aliases: 'friends: bob@remote.test, carol@remote.test\n',
  });
  try {
    await w.send({ from: 'ana@origin.example', to: ['friends@example.test'], raw: MSG });
    const [m] = await sink.waitFor(1);
    assert.equal(m.from, 'ana@origin.example');
    assert.deepEqual(m.rcpts.map((r) => r.address).sort(), ['bob@remote.test', 'carol@remote.test'], 'one transaction for both recipients of the domain');
    assert.equal(m.helo, 'mail.example.test', 'EHLO with our host name (S30)');
    const data = m.data.toString('utf8');
    assert.ok(!data.startsWith('Return-Path:'), 'Return-Path is not sent on (RFC 5321 4.4)');
    assert.match(data, /^Received: from .*\r\n\tby mail\.example\.test/);
    assert.ok(data.endsWith(MSG), 'the message arrives unchanged after our Received line');
    assert.match(m.raw.toString('latin1'), /\r\n\.\.starts with a dot\r\n$/, 'dot-stuffed on the wire');
    assert.match(m.mailParams, /SIZE=\d+/);
    const log = await w.waitForLog(/to=<bob@remote\.test>, orig_to=<friends@example\.test>, relay=mx2\.remote\.test\[[\d.]+\]:\d+, delay=[\d.]+, tries=1, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as SINK1\)/);
    assert.ok(log);
    assert.match(w.server.readLog(), new RegExp(`connect to mx1\\.remote\\.test\\[${dead.replace(/\./g, '\\.')}\\]|mx1\\.remote\\.test\\[${dead.replace(/\./g, '\\.')}\\]`), 'the first MX was tried');
    await until('queue empty', async () => (await w.server.cli(['queue', 'list'])).stdout.includes('Mail queue is empty'));
    const stats = await w.server.cli(['stats']);
    assert.match(stats.stdout, /^smtp\s+1\s+\d+\s+1\s+\d+\s+0\s+0$/m, stats.stdout);
  } finally {
    await w.stop();
    await sink.close();
  }
});

test('no MX record: the domain\'s A record is used (RFC 5321 5.1)', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink();
  const w = await startWorld({
    dns: [`--host-record=plain.test,${sink.host}`],
    toml: `[outbound]\nport = ${sink.port}`,
    aliases: 'out: someone@plain.test\n',
  });
  try {
    await w.send({ from: 'ana@origin.example', to: ['out@example.test'], raw: MSG });
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.rcpts.map((r) => r.address), ['someone@plain.test']);
    await w.waitForLog(/to=<someone@plain\.test>.*relay=plain\.test\[[\d.]+\]:\d+.*status=sent/);
  } finally {
    await w.stop();
    await sink.close();
  }
});

test('an MX with only an IPv6 address (AAAA) is reached over IPv6', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink({ host: '::1' });
  const w = await startWorld({
    dns: ['--mx-host=six.test,mx.six.test,10', '--host-record=mx.six.test,::1'],
    toml: `[outbound]\nport = ${sink.port}`,
    aliases: 'out: someone@six.test\n',
  });
  try {
    await w.send({ from: 'ana@origin.example', to: ['out@example.test'], raw: MSG });
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.rcpts.map((r) => r.address), ['someone@six.test']);
    await w.waitForLog(/to=<someone@six\.test>.*relay=mx\.six\.test\[::1\]:\d+.*status=sent/);
  } finally {
    await w.stop();
    await sink.close();
  }
});
