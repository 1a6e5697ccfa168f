import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binary, bodyStructure, envelope, findPart, section, sectionBytes } from '../../src/mime/imap.js';
import { parseMessage, storedTree } from '../../src/mime/parse.js';
import { subParts } from '../../src/mime/section.js';
import type { MimePart, MimeTree } from '../../src/mime/types.js';
import { corpusMissing, loadManifest, loadMessage } from './corpus.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');
const str = (b: Buffer): string => b.toString('latin1');

/** Every part of a tree, depth first, with its parent. */
function walk(p: MimePart, visit: (p: MimePart, parent: MimePart | null) => void, parent: MimePart | null = null): void {
  visit(p, parent);
  for (const c of p.parts ?? []) walk(c, visit, p);
  if (p.message) walk(p.message, visit, p);
}

/** Structural invariants every tree must hold, whatever the input. */
function checkInvariants(tree: MimeTree, buf: Buffer): void {
  assert.equal(tree.size, buf.length);
  assert.equal(tree.root.hs, 0);
  assert.equal(tree.root.be, buf.length);
  walk(tree.root, (p, parent) => {
    assert.ok(0 <= p.hs && p.hs <= p.bs && p.bs <= p.be && p.be <= buf.length, `offsets ${p.hs} ${p.bs} ${p.be}`);
    let lf = 0;
    for (let i = p.bs; i < p.be; i++) if (buf[i] === 10) lf++;
    assert.equal(p.lines, lf, 'line count is the LF count of the body');
    if (parent !== null) {
      assert.ok(p.hs >= parent.bs && p.be <= parent.be, 'a child lies inside its parent body');
    }
  });
}

test('single part: offsets, lines, defaults', { timeout: 30000 }, () => {
  const buf = crlf('From: a@b.example\nSubject: hi\n\nline one\nline two\n');
  const tree = parseMessage(buf);
  checkInvariants(tree, buf);
  assert.equal(str(buf.subarray(tree.root.bs, tree.root.be)), 'line one\r\nline two\r\n');
  assert.equal(tree.root.lines, 2);
  assert.equal(str(bodyStructure(tree, false)), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 20 2)');
  assert.equal(tree.root.env?.subject, 'hi');
});

test('multipart: preamble, epilogue, the CRLF before a delimiter belongs to it', { timeout: 30000 }, () => {
  const buf = crlf([
    'Content-Type: multipart/mixed; boundary="b"', '', 'preamble', '--b', '', 'one', '--b',
    'Content-Type: text/html', '', '<p>two</p>', '', '--b--', 'epilogue', '',
  ].join('\n'));
  const tree = parseMessage(buf);
  checkInvariants(tree, buf);
  const [p1, p2] = tree.root.parts!;
  assert.equal(str(buf.subarray(p1.bs, p1.be)), 'one');
  assert.equal(str(buf.subarray(p2.hs, p2.bs)), 'Content-Type: text/html\r\n\r\n');
  assert.equal(str(buf.subarray(p2.bs, p2.be)), '<p>two</p>\r\n', 'only the last CRLF goes to the delimiter');
  assert.equal(p2.subtype, 'html');
});

test('boundary delimiter: transport padding allowed, other trailing text is body', { timeout: 30000 }, () => {
  const buf = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\nA\n--bc\n--b-x\n--b--  \n');
  const tree = parseMessage(buf);
  assert.equal(tree.root.parts!.length, 1);
  const p = tree.root.parts![0];
  assert.equal(str(buf.subarray(p.bs, p.be)), 'A\r\n--bc\r\n--b-x');
});

test('nested multiparts: an outer delimiter closes an inner part never closed; same boundary reused', { timeout: 30000 }, () => {
  const buf = crlf([
    'Content-Type: multipart/mixed; boundary=o', '', '--o', 'Content-Type: multipart/alternative; boundary=i', '',
    '--i', '', 'inner one', '--i', '', 'inner two', '--o', '', 'outer two', '--o--', '',
  ].join('\n'));
  const tree = parseMessage(buf);
  checkInvariants(tree, buf);
  const [alt, two] = tree.root.parts!;
  assert.equal(alt.parts!.length, 2);
  assert.equal(str(buf.subarray(alt.parts![1].bs, alt.parts![1].be)), 'inner two');
  assert.equal(str(buf.subarray(two.bs, two.be)), 'outer two');

  const same = crlf([
    'Content-Type: multipart/mixed; boundary=s', '', '--s', 'Content-Type: multipart/mixed; boundary=s', '',
    '--s', '', 'a', '--s--', '--s', '', 'b', '--s--', '',
  ].join('\n'));
  const t2 = parseMessage(same);
  checkInvariants(t2, same);
  assert.equal(t2.root.parts!.length, 2);
  assert.equal(t2.root.parts![0].parts!.length, 1);
});

test('message/rfc822 is parsed inside; digest children default to message/rfc822', { timeout: 30000 }, () => {
  const buf = crlf([
    'Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: inner', 'From: x@y.example', '', 'hello', '--d--', '',
  ].join('\n'));
  const tree = parseMessage(buf);
  checkInvariants(tree, buf);
  const part = tree.root.parts![0];
  assert.equal(`${part.type}/${part.subtype}`, 'message/rfc822');
  assert.equal(part.message!.env!.subject, 'inner');
  const r = section(tree, '1.HEADER');
  assert.ok(r !== null);
  assert.equal(str(sectionBytes(buf, r)), 'Subject: inner\r\nFrom: x@y.example\r\n\r\n');
  assert.equal(str(sectionBytes(buf, section(tree, '1.1')!)), 'hello');
  assert.match(str(bodyStructure(tree, true)), /^\(\("message" "rfc822" NIL NIL NIL "7bit" 42 \(NIL "inner" /);
});

test('nesting is bounded: 5000 nested multiparts parse in bounded time and depth', { timeout: 30000 }, () => {
  const depth = 5000;
  let head = 'Content-Type: multipart/mixed; boundary=b0\r\n\r\n';
  for (let i = 1; i <= depth; i++) head += `--b${i - 1}\r\nContent-Type: multipart/mixed; boundary=b${i}\r\n\r\n`;
  const buf = Buffer.from(head + 'x\r\n', 'latin1');
  const t0 = performance.now();
  const tree = parseMessage(buf);
  const ms = performance.now() - t0;
  checkInvariants(tree, buf);
  let d = 0;
  walk(tree.root, () => { d++; });
  assert.ok(d <= 101, `at most maxDepth levels are entities (${d})`);
  assert.ok(ms < 2000, `took ${ms} ms`);
  // deep rendering and JSON storage must not blow the stack either
  JSON.parse(JSON.stringify(tree));
  assert.ok(bodyStructure(tree, true).length > 0);
});

test('nested message/rfc822 is bounded too', { timeout: 30000 }, () => {
  const buf = Buffer.from('Content-Type: message/rfc822\r\n\r\n'.repeat(3000) + 'end\r\n', 'latin1');
  const tree = parseMessage(buf);
  checkInvariants(tree, buf);
  assert.ok(bodyStructure(tree, true).length > 0);
  assert.ok(envelope(tree).length > 0);
});

test('hostile: many open boundaries and many "--" lines stay linear', { timeout: 30000 }, () => {
  // 100 nested multiparts sharing 50-character boundaries, then 200k lines that look like delimiters.
  let head = '';
  const b = (i: number): string => 'x'.repeat(48) + String(i).padStart(2, '0');
  head += `Content-Type: multipart/mixed; boundary=${b(0)}\r\n\r\n`;
  for (let i = 1; i < 100; i++) head += `--${b(i - 1)}\r\nContent-Type: multipart/mixed; boundary=${b(i)}\r\n\r\n`;
  const noise = `--${'x'.repeat(48)}zz\r\n`.repeat(200000);
  const buf = Buffer.from(head + noise, 'latin1');
  const t0 = performance.now();
  const tree = parseMessage(buf);
  const ms = performance.now() - t0;
  checkInvariants(tree, buf);
  assert.ok(ms < 3000, `took ${ms} ms for ${buf.length} octets`);
});

test('the number of parts is bounded', { timeout: 30000 }, () => {
  const buf = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n' + '--b\r\n\r\nx\r\n'.repeat(20000) + '--b--\r\n', 'latin1');
  const tree = parseMessage(buf, { maxParts: 1000 });
  checkInvariants(tree, buf);
  assert.equal(tree.root.parts!.length, 1000);
  const last = tree.root.parts![999];
  assert.equal(last.be, buf.length, 'the rest of the message stays in the last part');
});

test('edge inputs: empty, header only, no header, bare LF, NUL', { timeout: 30000 }, () => {
  for (const s of ['', '\r\n', '\n', 'Subject: x', 'Subject: x\r\n', '\r\nbody only\r\n', 'a\nb\n\nc\n', '\0\0\0', '--', '--\r\n']) {
    const buf = Buffer.from(s, 'latin1');
    const tree = parseMessage(buf);
    checkInvariants(tree, buf);
    assert.ok(envelope(tree).length > 0);
    assert.ok(bodyStructure(tree, true).length > 0);
  }
  const lf = Buffer.from('Subject: lf\n\nbody\nmore\n', 'latin1');
  const t = parseMessage(lf);
  assert.equal(str(lf.subarray(t.root.bs)), 'body\nmore\n');
  assert.equal(t.root.env?.subject, 'lf');
});

test('a multipart without parts answers one empty text/plain part', { timeout: 30000 }, () => {
  const buf = crlf('Content-Type: multipart/mixed\n\n--x\n\nhidden\n--x--\n');
  const tree = parseMessage(buf);
  assert.equal(str(bodyStructure(tree, true)), '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)');
  assert.equal(str(sectionBytes(buf, section(tree, '1')!)), '');
  assert.equal(subParts(tree.root).length, 1);
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every section of every part, and BINARY, as the IMAP layer would ask for them. */
function exercise(tree: MimeTree, buf: Buffer): void {
  envelope(tree);
  bodyStructure(tree, false);
  bodyStructure(tree, true, true);
  const paths: number[][] = [[]];
  const visit = (node: MimePart, path: number[], top: boolean): void => {
    const kids = !top && node.message ? subParts(node.message) : subParts(node);
    kids.forEach((k, i) => {
      const p = [...path, i + 1];
      if (p.length > 6 || paths.length > 200) return;
      paths.push(p);
      if (k !== node) visit(k, p, false);
      else if (k.message) visit(k, p, false);
    });
  };
  visit(tree.root, [], true);
  for (const p of paths) {
    const pre = p.join('.');
    for (const text of ['', 'HEADER', 'TEXT', 'MIME', 'HEADER.FIELDS (From Subject)', 'HEADER.FIELDS.NOT (Subject)']) {
      if (text === 'MIME' && p.length === 0) continue;
      const spec = pre === '' ? text : text === '' ? pre : `${pre}.${text}`;
      const r = section(tree, spec);
      if (r !== null) {
        assert.ok(r.start <= r.end && r.end <= buf.length);
        sectionBytes(buf, r);
      }
    }
    assert.ok(findPart(tree, p) !== null || p.length > 0);
    binary(tree, buf, p);
  }
}

test('fuzz: random truncations and corruptions of corpus messages never throw', { timeout: 120000, skip: corpusMissing }, () => {
  const random = rng(20260101);
  let runs = 0;
  for (const entry of loadManifest()) {
    const full = loadMessage(entry);
    for (let k = 0; k < 6; k++) {
      let buf: Buffer;
      if (k < 4) {
        buf = full.subarray(0, Math.floor(random() * (full.length + 1)));
      } else {
        // flip a few octets to characters that matter to the parser
        buf = Buffer.from(full);
        for (let j = 0; j < 8; j++) {
          buf[Math.floor(random() * buf.length)] = '-\r\n:;"=\\( \0<>@,'.charCodeAt(Math.floor(random() * 16));
        }
      }
      const tree = JSON.parse(JSON.stringify(parseMessage(buf))) as MimeTree;
      checkInvariants(tree, buf);
      exercise(tree, buf);
      runs++;
    }
  }
  assert.equal(runs, 237 * 6);
});

test('fuzz: every cut of a nested message keeps the invariants', { timeout: 30000 }, () => {
  const entry = loadManifest().find((e) => e.n === 104)!;
  const full = loadMessage(entry);
  for (let cut = 0; cut <= full.length; cut++) {
    const buf = full.subarray(0, cut);
    const tree = parseMessage(buf);
    checkInvariants(tree, buf);
    exercise(tree, buf);
  }
});

test('a stored tree is read back; another version is refused so the message is parsed again', { timeout: 30000 }, () => {
  const buf = crlf('Subject: s\n\nb\n');
  const json = JSON.stringify(parseMessage(buf));
  assert.deepEqual(storedTree(json), parseMessage(buf));
  assert.equal(storedTree(json.replace('"v":1', '"v":0')), null);
  assert.equal(storedTree('not json'), null);
});
