/**
 * The retry schedule of every delivery that failed temporarily (a 4xx reply, no connection, a
 * program's EX_TEMPFAIL): `initial` after the first failure, doubling up to `max`. All in ms.
 * The one place this is computed (local and remote delivery both use it).
 */
export interface RetrySchedule {
  initial: number;
  max: number;
  /** A message older than this is bounced instead of retried. */
  giveUp: number;
}

/** The wait after the `failures`-th failed attempt (1 = the first). */
export function backoff(s: RetrySchedule, failures: number): number {
  return Math.min(s.max, s.initial * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}

/** The time of the next attempt: never past the give-up time, never sooner than `floor` from now. */
export function nextAttempt(s: RetrySchedule, failures: number, created: number, now: number, floor = 0): number {
  return Math.max(Math.min(now + backoff(s, failures), created + s.giveUp), now + floor);
}
