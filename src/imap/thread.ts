import type { SelectedMailbox, ViewMessage } from './selected.js';
import type { MimeTree } from '../mime/types.js';
import { baseSubject, sortDate } from './sort.js';

/** A thread node: a message (its index in the mailbox) or a dummy (msg null). */
export interface ThreadNode {
  msg: number | null;
  children: ThreadNode[];
}

interface Info {
  i: number;
  id: string | null;
  refs: string[];
  subject: { base: string; reply: boolean };
  date: number;
}

const MSGID = /<([^<>]*)>/g;

function ids(v: string | undefined): string[] {
  if (!v) return [];
  return [...v.matchAll(MSGID)].map((m) => m[1].trim()).filter(Boolean);
}

async function infos(idx: number[], box: SelectedMailbox, tree: (m: ViewMessage) => Promise<MimeTree>): Promise<Info[]> {
  const out: Info[] = [];
  for (const i of idx) {
    const m = box.msg(i);
    const t = await tree(m);
    const env = t.root.env ?? {};
    const mid = ids(env.messageId)[0] ?? null;
    let refs = ids(env.references);
    // RFC 5256 3 (1)(A): without References, the first message id of In-Reply-To.
    if (!refs.length) refs = ids(env.inReplyTo).slice(0, 1);
    out.push({ i, id: mid, refs, subject: baseSubject(env.subject), date: sortDate(t, m) });
  }
  return out;
}

/** RFC 5256 THREAD; `idx` are the messages matching the search, in sequence order. */
export async function threadMessages(idx: number[], box: SelectedMailbox, algo: 'REFERENCES' | 'ORDEREDSUBJECT', tree: (m: ViewMessage) => Promise<MimeTree>): Promise<ThreadNode[]> {
  const list = await infos(idx, box, tree);
  return algo === 'ORDEREDSUBJECT' ? orderedSubject(list) : references(list);
}

/** RFC 5256 3: ORDEREDSUBJECT. */
function orderedSubject(list: Info[]): ThreadNode[] {
  const sorted = [...list].sort((a, b) => (a.subject.base < b.subject.base ? -1 : a.subject.base > b.subject.base ? 1 : a.date - b.date || a.i - b.i));
  const threads: { date: number; i: number; node: ThreadNode }[] = [];
  let cur: { base: string; node: ThreadNode } | null = null;
  for (const m of sorted) {
    if (cur && cur.base === m.subject.base) cur.node.children.push({ msg: m.i, children: [] });
    else {
      cur = { base: m.subject.base, node: { msg: m.i, children: [] } };
      threads.push({ date: m.date, i: m.i, node: cur.node });
    }
  }
  threads.sort((a, b) => a.date - b.date || a.i - b.i);
  return threads.map((t) => t.node);
}

interface Container {
  info: Info | null;
  parent: Container | null;
  children: Container[];
}

/** RFC 5256 3: REFERENCES (the Jamie Zawinski algorithm with the RFC's changes). */
function references(list: Info[]): ThreadNode[] {
  const table = new Map<string, Container>();
  const get = (id: string): Container => {
    let c = table.get(id);
    if (!c) table.set(id, (c = { info: null, parent: null, children: [] }));
    return c;
  };
  const isAncestor = (a: Container, b: Container): boolean => {
    for (let p: Container | null = b; p; p = p.parent) if (p === a) return true;
    return false;
  };
  const link = (parent: Container, child: Container) => {
    if (child.parent === parent || isAncestor(child, parent)) return;
    if (child.parent) child.parent.children = child.parent.children.filter((x) => x !== child);
    child.parent = parent;
    parent.children.push(child);
  };
  let unique = 0;
  for (const m of list) {
    // (1)(A): a message without id, or with one seen already, gets a unique one.
    let id = m.id;
    if (!id || table.get(id)?.info) id = `\0unique-${unique++}`;
    const c = get(id);
    c.info = m;
    // (1)(B): link the references in order, without making loops or re-parenting.
    let prev: Container | null = null;
    for (const r of m.refs) {
      const rc = get(r);
      if (prev && !rc.parent && rc !== prev && !isAncestor(rc, prev)) link(prev, rc);
      prev = rc;
    }
    // (1)(C): the last reference is the parent; a loop breaks the link.
    if (c.parent) c.parent.children = c.parent.children.filter((x) => x !== c);
    c.parent = null;
    if (prev && prev !== c && !isAncestor(c, prev)) link(prev, c);
  }
  // (2) root set
  let roots = [...table.values()].filter((c) => !c.parent);
  // (3) prune dummies
  const prune = (cs: Container[], atRoot: boolean): Container[] => {
    const out: Container[] = [];
    for (const c of cs) {
      c.children = prune(c.children, false);
      if (c.info) out.push(c);
      else if (!c.children.length) continue;
      else if (!atRoot || c.children.length === 1) {
        for (const ch of c.children) ch.parent = c.parent;
        out.push(...c.children);
      } else out.push(c);
    }
    return out;
  };
  roots = prune(roots, true);
  const firstDate = (c: Container): { d: number; i: number } => {
    if (c.info) return { d: c.info.date, i: c.info.i };
    const kids = c.children.map(firstDate).sort((a, b) => a.d - b.d || a.i - b.i);
    return kids[0] ?? { d: 0, i: 0 };
  };
  const byDate = (a: Container, b: Container) => {
    const x = firstDate(a), y = firstDate(b);
    return x.d - y.d || x.i - y.i;
  };
  // (4) sort the root set
  roots.sort(byDate);
  // (5) merge threads by base subject
  const subjOf = (c: Container): Info | null => c.info ?? c.children.map((x) => x.info).find((x) => x) ?? null;
  const subjects = new Map<string, Container>();
  for (const c of roots) {
    const inf = subjOf(c);
    if (!inf || !inf.subject.base) continue;
    const old = subjects.get(inf.subject.base);
    if (!old) subjects.set(inf.subject.base, c);
    else if ((!c.info && old.info) || (old.info && c.info && old.info.subject.reply && !c.info.subject.reply)) subjects.set(inf.subject.base, c);
  }
  const merged: Container[] = [];
  for (const c of roots) {
    const inf = subjOf(c);
    const target = inf && inf.subject.base ? subjects.get(inf.subject.base)! : c;
    if (target === c) {
      merged.push(c);
      continue;
    }
    const cInf = c.info, tInf = target.info;
    if (!tInf && !cInf) {
      for (const ch of c.children) link(target, ch);
    } else if (!tInf && cInf) {
      link(target, c);
    } else if (tInf && !cInf) {
      // target is a message, c a dummy: c's children go under a new dummy with target? RFC: make c a child.
      link(target, c);
    } else if (tInf!.subject.reply === false && cInf!.subject.reply) {
      link(target, c);
    } else if (tInf!.subject.reply && !cInf!.subject.reply) {
      link(c, target);
      merged[merged.indexOf(target)] = c;
      subjects.set(inf!.subject.base, c);
    } else {
      // Both replies or both not: a new dummy holds them (RFC 5256 3 (5)(C)(v)).
      const d: Container = { info: null, parent: null, children: [] };
      const pos = merged.indexOf(target);
      link(d, target);
      link(d, c);
      merged[pos] = d;
      subjects.set(inf!.subject.base, d);
    }
  }
  // (6) sort children by date, recursively
  const toNode = (c: Container): ThreadNode => {
    const kids = [...c.children].sort(byDate).map(toNode);
    return { msg: c.info ? c.info.i : null, children: kids };
  };
  return merged.map(toNode);
}
