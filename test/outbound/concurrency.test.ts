import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink } from '../helpers/sink.js';
import { startWorld, until } from './world.js';
import { needs } from '../helpers/peers.js';

test('max_per_destination bounds the connections to one destination; all messages still go', { timeout: 90_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink({ dataDelayMs: 300 });
  const w = await startWorld({
    dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`],
    toml: `[outbound]\nport = ${sink.port}\nmax_per_destination = 2`,
    aliases: 'out: bob@remote.test\n',
  });
  try {
    await Promise.all(Array.from({ length: 8 }, (_, i) => w.send({ from: 'a@origin.example', to: ['out@example.test'], raw: `Subject: n${i}\r\n\r\nmessage ${i}\r\n` })));
    await sink.waitFor(8, 30_000);
    assert.ok(sink.maxOpen <= 2, `at most 2 connections at once, saw ${sink.maxOpen}`);
    assert.ok(sink.maxOpen >= 1);
    assert.ok(sink.connections < 8, `connections reused (${sink.connections} for 8 messages)`);
    assert.deepEqual(sink.messages.map((m) => /message (\d)/.exec(m.data.toString())![1]).sort(), ['0', '1', '2', '3', '4', '5', '6', '7']);
  } finally {
    await w.stop();
    await sink.close();
  }
});

test('a deferred message survives a restart and goes once the remote is back', { timeout: 90_000, ...needs('dnsmasq') }, async () => {
  const first = await startSink();
  const { host, port } = first;
  await first.close(); // the MX is down
  const w = await startWorld({
    dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${host}`],
    toml: `[outbound]\nport = ${port}\nretry_initial = 1\nretry_max = 1`,
    aliases: 'out: bob@remote.test\n',
  });
  let sink: Awaited<ReturnType<typeof startSink>> | null = null;
  try {
    await w.send({ from: 'a@origin.example', to: ['out@example.test'], raw: 'Subject: survivor\r\n\r\nstill here\r\n' });
    await w.waitForLog(/to=<bob@remote\.test>.*status=deferred \(connect to .*Connection refused\)/);
    await w.server.kill9();
    sink = await startSink({ host });
    // Same address; the port may differ, so the restarted server is told the sink's port.
    const cfg = (await import('node:fs')).readFileSync(w.server.configFile, 'utf8').replace(/^port = \d+$/m, `port = ${sink.port}`);
    (await import('node:fs')).writeFileSync(w.server.configFile, cfg);
    await w.server.restart();
    const [m] = await sink.waitFor(1, 20_000);
    assert.match(m.data.toString(), /still here/);
    await until('queue empty', async () => (await w.server.cli(['queue', 'list'])).stdout.includes('Mail queue is empty'));
  } finally {
    await w.stop();
    await sink?.close();
  }
});
