import type { Command, CommandSpec, Session } from '../session.js';
import { bad } from '../errors.js';
import { checkCharset, parseSearch, runSearch, textQuery, type SearchProgram } from '../search.js';
import { formatSet } from '../sequence.js';
import { sortMessages, parseSortCriteria } from '../sort.js';
import { threadMessages, type ThreadNode } from '../thread.js';
import { preloadTrees, readMessage, treeOf } from '../mimeview.js';
import { enableCondstore } from '../condstore.js';
import type { SelectedMailbox, ViewMessage } from '../selected.js';

const RETURN_OPTS = ['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE'];

/** `read` for the search engine: the message file. */
function reader(s: Session) {
  return (m: ViewMessage) => readMessage(s.ctx.blobs, m);
}

/** The MIME tree of a message (stored at delivery; see mimeview.ts). */
function trees(s: Session) {
  return (m: ViewMessage) => treeOf(s, m);
}

/**
 * The indexes of the messages matching `prog`. With content keys the full-text index first
 * gives the candidates (src/store/search.ts), and only those are read and matched.
 */
async function find(s: Session, prog: SearchProgram, box: SelectedMailbox): Promise<number[]> {
  const q = prog.content ? textQuery(prog.key) : null;
  const cand = q ? new Set(await s.ctx.search.textCandidates(box.mailbox.id, q)) : null;
  if (prog.content) await preloadTrees(s.ctx.store, cand ? box.all().filter((m) => cand.has(m.uid)) : box.all());
  return runSearch(prog, box, s.saved, reader(s), trees(s), cand);
}

/** RFC 9051 6.4.4 SEARCH, RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 7162 3.1.5 MODSEQ. */
async function search(s: Session, c: Command) {
  const box = s.selected!;
  let ret: Set<string> | null = null;
  if (c.args.peekAtom('RETURN')) {
    c.args.atom();
    const l = c.args.list('return options');
    ret = new Set();
    while (!l.done) {
      const o = l.keyword('return option');
      if (!RETURN_OPTS.includes(o)) throw bad(`unknown search return option ${o}`);
      ret.add(o);
    }
    if (!ret.size) ret.add('ALL');
  }
  let charset = 'UTF-8';
  if (c.args.peekAtom('CHARSET')) {
    c.args.atom();
    charset = checkCharset(c.args.astring('charset'));
  }
  const prog = parseSearch(c.args, charset);
  if (prog.modseq) enableCondstore(s);
  if (box.dirty) await s.announce(box, c.uid);
  const idx = await find(s, prog, box);
  const nums = idx.map((i) => (c.uid ? box.uidAt(i) : i + 1));
  const highest = prog.modseq ? highestOf(box, idx, !ret || ret.has('ALL') || ret.has('COUNT') || !(ret.has('MIN') || ret.has('MAX')), ret) : 0;
  if (ret?.has('SAVE')) s.saved = idx.map((i) => box.uidAt(i));
  if (!ret && !s.rev2) {
    s.untagged(`SEARCH${nums.map((n) => ' ' + n).join('')}${highest ? ` (MODSEQ ${highest})` : ''}`);
    return;
  }
  const opts = ret ?? new Set(['ALL']);
  // RFC 5182 2.1: SAVE alone returns nothing.
  if (opts.size === 1 && opts.has('SAVE')) return;
  const parts: string[] = [`ESEARCH (TAG "${c.tag}")`];
  if (c.uid) parts.push('UID');
  if (nums.length) {
    if (opts.has('MIN')) parts.push(`MIN ${Math.min(...nums)}`);
    if (opts.has('MAX')) parts.push(`MAX ${Math.max(...nums)}`);
    if (opts.has('ALL')) parts.push(`ALL ${formatSet(nums)}`);
  }
  if (opts.has('COUNT')) parts.push(`COUNT ${nums.length}`);
  if (highest) parts.push(`MODSEQ ${highest}`);
  s.untagged(parts.join(' '));
}

/**
 * RFC 4731 3.2: with MODSEQ, the highest mod-sequence of the messages returned: all matches
 * for ALL, COUNT or a plain SEARCH, only the MIN and/or MAX message otherwise (issue 10.6).
 */
function highestOf(box: SelectedMailbox, idx: number[], all: boolean, ret: Set<string> | null): number {
  if (!idx.length) return 0;
  const pick = all ? idx : [...(ret!.has('MIN') ? [idx[0]] : []), ...(ret!.has('MAX') ? [idx[idx.length - 1]] : [])];
  return Math.max(...pick.map((i) => box.modSeqAt(i)));
}

/**
 * The charset and search criteria that SORT and THREAD take (RFC 5256 3): the matching
 * messages' indexes (SORT loads the trees it needs itself, THREAD all of them).
 */
async function matching(s: Session, c: Command): Promise<number[]> {
  const box = s.selected!;
  const charset = checkCharset(c.args.astring('charset'));
  const prog = parseSearch(c.args, charset);
  if (box.dirty) await s.announce(box, c.uid);
  return find(s, prog, box);
}

/** RFC 5256 SORT. */
async function sort(s: Session, c: Command) {
  const box = s.selected!;
  const criteria = parseSortCriteria(c.args.list('sort criteria'));
  const idx = await matching(s, c);
  const sorted = await sortMessages(idx, box, criteria, trees(s), (ms) => preloadTrees(s.ctx.store, ms));
  s.untagged(`SORT${sorted.map((i) => ' ' + (c.uid ? box.uidAt(i) : i + 1)).join('')}`);
}

function formatThread(roots: ThreadNode[], num: (i: number) => number): string {
  // RFC 5256 4: a chain of only children is flat "(1 2 3)"; branches are nested lists.
  const write = (n: ThreadNode): string => {
    const nums: string[] = [];
    let cur = n;
    for (;;) {
      if (cur.msg !== null) nums.push(String(num(cur.msg)));
      if (cur.children.length === 1) {
        cur = cur.children[0];
        continue;
      }
      const nested = cur.children.map((ch) => `(${write(ch)})`).join('');
      return [nums.join(' '), nested].filter(Boolean).join(' ');
    }
  };
  return roots.map((r) => `(${write(r)})`).join('');
}

/** RFC 5256 THREAD=REFERENCES and THREAD=ORDEREDSUBJECT. */
async function thread(s: Session, c: Command) {
  const box = s.selected!;
  const algo = c.args.keyword('thread algorithm');
  if (algo !== 'REFERENCES' && algo !== 'ORDEREDSUBJECT') throw bad(`unknown thread algorithm ${algo}`);
  const idx = await matching(s, c);
  await preloadTrees(s.ctx.store, idx.map((i) => box.msg(i)));
  const roots = await threadMessages(idx, box, algo, trees(s));
  const text = formatThread(roots, (i) => (c.uid ? box.uidAt(i) : i + 1));
  s.untagged(`THREAD${text ? ' ' + text : ''}`);
}

export const searchCommands: Record<string, CommandSpec> = {
  SEARCH: { states: ['selected'], run: search },
  'UID SEARCH': { states: ['selected'], run: search },
  SORT: { states: ['selected'], run: sort },
  'UID SORT': { states: ['selected'], run: sort },
  THREAD: { states: ['selected'], run: thread },
  'UID THREAD': { states: ['selected'], run: thread },
};
