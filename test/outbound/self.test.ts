import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selfCheck } from '../../src/outbound/self.js';
import { startSink } from '../helpers/sink.js';
import { startWorld } from './world.js';
import { needs } from '../helpers/peers.js';

test('"is this us": our host name, or an address we listen on at the port we would connect to', () => {
  const self = selfCheck('mail.example.test', [{ host: '127.0.0.1', port: 25 }, { host: '::', port: 2525 }]);
  assert.equal(self('MAIL.example.test.', 25), true);
  assert.equal(self('127.0.0.1', 25), true);
  assert.equal(self('[127.0.0.1]', 25), true);
  assert.equal(self('127.0.0.1', 2600), false, 'another port is another server');
  assert.equal(self('127.0.0.2', 25), false);
  assert.equal(self('::1', 2525), true, 'a wildcard listener covers the machine\'s addresses');
  assert.equal(self('other.example.test', 25), false);
});

test('try_null_mx_list: when we are the best MX of a domain, its A record gets the mail', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink();
  const w = await startWorld({
    dns: ['--mx-host=ours.test,mail.example.test,10', `--host-record=ours.test,${sink.host}`, '--host-record=mail.example.test,127.0.0.1'],
    toml: `[outbound]\nport = ${sink.port}\ntry_null_mx_list = true`,
    aliases: 'out: bob@ours.test\n',
  });
  try {
    await w.send({ from: 'a@origin.example', to: ['out@example.test'], raw: 'Subject: best mx\r\n\r\nhi\r\n' });
    await sink.waitFor(1);
    await w.waitForLog(/to=<bob@ours\.test>.*relay=ours\.test\[[\d.]+\]:\d+.*status=sent/);
  } finally {
    await w.stop();
    await sink.close();
  }
});

test('try_null_mx_list = false: mail for a domain whose best MX is us bounces 5.4.6', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const w = await startWorld({
    dns: ['--mx-host=ours.test,mail.example.test,10', '--host-record=ours.test,127.0.0.9'],
    toml: '[outbound]\ntry_null_mx_list = false',
    aliases: 'out: bob@ours.test\n',
  });
  try {
    await w.send({ from: 'a@origin.example', to: ['out@example.test'], raw: 'Subject: loop\r\n\r\nhi\r\n' });
    await w.waitForLog(/to=<bob@ours\.test>.*dsn=5\.4\.6, status=bounced \(mail for ours\.test loops back to myself \(MX problem\?\)\)/);
  } finally {
    await w.stop();
  }
});
