import fc from 'fast-check';

/**
 * The property-based tests of every parser that reads the network or an admin's file
 * (issue 9). `npm test` runs FUZZ_RUNS (default 300) generated cases per property;
 * `npm run fuzz` runs 100,000. A failure prints fast-check's seed and the shrunk
 * counterexample, which then becomes a regression test beside the parser's other tests.
 */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** Time for one test (one or a few properties): generous, since the machine may be busy. */
export const TEST_TIMEOUT = Math.max(120_000, RUNS * 30);

/** No single case may take this long: a hang or super-linear work shows up as a failure. */
export const CASE_MS = 3000;

/** Runs `property` RUNS times; any exception or `false` is a counterexample. */
export function check<Ts extends [unknown, ...unknown[]]>(arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...args: Ts) => boolean | void, runs = RUNS): void {
  const timed = (...args: Ts): boolean | void => {
    const start = performance.now();
    const r = predicate(...args);
    const ms = performance.now() - start;
    if (ms > CASE_MS) throw new Error(`one case took ${ms.toFixed(0)} ms (a hang or super-linear work)`);
    return r;
  };
  fc.assert(fc.property(...(arbs as unknown as [fc.Arbitrary<unknown>]), timed as (...a: unknown[]) => boolean | void), { numRuns: runs });
}

/** Text made of `pieces` (the syntax that matters to a parser) and random characters. */
export function soup(pieces: string[], maxLength = 60): fc.Arbitrary<string> {
  return fc
    .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pieces) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) }), { maxLength })
    .map((a) => a.join(''));
}

/** Bytes made of `pieces` (latin1) and random octets. */
export function byteSoup(pieces: string[], maxLength = 60): fc.Arbitrary<Buffer> {
  return fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...pieces).map((s) => Buffer.from(s, 'latin1')) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)) },
      ),
      { maxLength },
    )
    .map((a) => Buffer.concat(a));
}

/** Cut points for `split`: the same input delivered in pieces, as TCP may. */
export const cuts = fc.array(fc.nat(), { maxLength: 8 });

/** `buf` cut at `at` (positions taken modulo its length), in order. */
export function split(buf: Buffer, at: number[]): Buffer[] {
  if (!buf.length) return [buf];
  const points = [...new Set(at.map((n) => n % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

/**
 * Feeds `chunks` to a pull parser (push bytes, then take items until null) and collects what
 * `show` makes of each item (null: left out). Each chunk may yield at most its length + 2
 * items: a parser that stops consuming input fails here instead of looping.
 */
export function pull<F, R>(parser: { push(b: Buffer): void; next(): F | null }, chunks: Buffer[], show: (f: F) => R | null): R[] {
  const out: R[] = [];
  for (const c of chunks) {
    parser.push(c);
    for (let f: F | null, steps = 0; (f = parser.next()); steps++) {
      if (steps > c.length + 2) throw new Error('the parser made no progress');
      const r = show(f);
      if (r !== null) out.push(r);
    }
  }
  return out;
}
