import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink } from '../helpers/sink.js';
import { startWorld, until } from './world.js';
import { needs } from '../helpers/peers.js';

test('correo queue list/show/hold/release/delete/flush on a running server', { timeout: 90_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink({ dataReply: (n) => (n === 1 ? '421 4.4.5 busy, come back later' : null) });
  const w = await startWorld({
    dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`],
    toml: `[outbound]\nport = ${sink.port}\nretry_initial = 3600`,
    aliases: 'one: bob@remote.test\ntwo: carol@remote.test\n',
  });
  try {
    await w.send({ from: 'ana@origin.example', to: ['one@example.test'], raw: 'Subject: first\r\nMessage-ID: <q1@x>\r\n\r\nhello\r\n' });
    await w.waitForLog(/to=<bob@remote\.test>.*status=deferred \(host mx\.remote\.test\[[\d.]+\]:\d+ said: 421 4\.4\.5 busy/);
    const list = await w.server.cli(['queue', 'list']);
    const id = /^([0-9A-Z]{16})\s+(\d+) \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  ana@origin\.example$/m.exec(list.stdout);
    assert.ok(id, list.stdout);
    assert.match(list.stdout, /^\s+\(host mx\.remote\.test\[[\d.]+\]:\d+ said: 421 4\.4\.5 busy, come back later\)$/m);
    assert.match(list.stdout, /^\s{48}bob@remote\.test$/m);
    assert.match(list.stdout, /^-- 1 Kbytes in 1 Request\.$/m);
    const qid = id[1];

    const show = await w.server.cli(['queue', 'show', qid]);
    assert.match(show.stdout, new RegExp(`^id: ${qid}$`, 'm'));
    assert.match(show.stdout, /^recipient: <bob@remote\.test> remote, 1 attempt, next attempt \d{4}-/m);
    assert.match(show.stdout, /^Subject: first$/m, 'the headers');

    // Hold: even a flush does not send it.
    assert.equal((await w.server.cli(['queue', 'hold', qid])).code, 0);
    assert.match((await w.server.cli(['queue', 'list'])).stdout, new RegExp(`^${qid}!`, 'm'));
    await w.server.cli(['queue', 'flush']);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sink.messages.length, 0, 'held');
    // Release: sent at once (retry_initial is an hour).
    await w.server.cli(['queue', 'release', qid]);
    await sink.waitFor(1, 15_000);
    await until('queue empty', async () => (await w.server.cli(['queue', 'list'])).stdout.includes('Mail queue is empty'));

    // Delete: gone without a trace, no bounce.
    await w.server.cli(['queue', 'hold', 'nosuchid']).then((r) => assert.notEqual(r.code, 0));
    const sinkDown = sink.connections;
    await sink.close();
    await w.send({ from: 'ana@origin.example', to: ['two@example.test'], raw: 'Subject: second\r\n\r\nbye\r\n' });
    await w.waitForLog(/to=<carol@remote\.test>.*status=deferred \(connect to mx\.remote\.test\[[\d.]+\]:\d+: Connection refused\)/);
    const l2 = await w.server.cli(['queue', 'list']);
    const id2 = /^([0-9A-Z]{16})\s/m.exec(l2.stdout)![1];
    const del = await w.server.cli(['queue', 'delete', id2]);
    assert.match(del.stdout, /deleted/);
    assert.match((await w.server.cli(['queue', 'list'])).stdout, /Mail queue is empty/);
    assert.ok(sinkDown >= 1);

    const stats = await w.server.cli(['stats']);
    assert.match(stats.stdout, /^Mailer\s+msgsfr\s+bytes_from\s+msgsto\s+bytes_to\s+rcpts_bounced\s+rcpts_deferred$/m);
    assert.match(stats.stdout, /^smtp\s+2\s+\d+\s+1\s+\d+\s+0\s+2$/m, stats.stdout);
  } finally {
    await w.stop();
    await sink.close().catch(() => undefined);
  }
});
