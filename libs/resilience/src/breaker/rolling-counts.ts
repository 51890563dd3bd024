import type { Counts } from './breaker.types';

/** A fresh, zeroed Counts. */
export function emptyCounts(): Counts {
  return {
    requests: 0,
    totalSuccesses: 0,
    totalFailures: 0,
    totalExclusions: 0,
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
  };
}

function clearCounts(c: Counts): void {
  c.requests = 0;
  c.totalSuccesses = 0;
  c.totalFailures = 0;
  c.totalExclusions = 0;
  c.consecutiveSuccesses = 0;
  c.consecutiveFailures = 0;
}

function isEmpty(c: Counts): boolean {
  return (
    c.requests === 0 &&
    c.totalSuccesses === 0 &&
    c.totalFailures === 0 &&
    c.totalExclusions === 0 &&
    c.consecutiveSuccesses === 0 &&
    c.consecutiveFailures === 0
  );
}

function onSuccess(c: Counts): void {
  c.totalSuccesses++;
  c.consecutiveSuccesses++;
  c.consecutiveFailures = 0;
}

function onFailure(c: Counts): void {
  c.totalFailures++;
  c.consecutiveFailures++;
  c.consecutiveSuccesses = 0;
}

/**
 * gobreaker v2.4's rollingCounts: the totals plus a ring of per-bucket counts.
 * With one bucket it is a fixed window; `age` is the index of the bucket periods since the
 * generation started, and a result is credited to the bucket its call started in.
 */
export class RollingCounts implements Counts {
  requests = 0;
  totalSuccesses = 0;
  totalFailures = 0;
  totalExclusions = 0;
  consecutiveSuccesses = 0;
  consecutiveFailures = 0;

  /** Bucket periods elapsed since the current generation started. */
  age = 0;
  readonly buckets: Counts[];

  constructor(numBuckets: number) {
    const n = numBuckets > 0 ? Math.floor(numBuckets) : 0;
    this.buckets = [];
    for (let i = 0; i < n; i++) this.buckets.push(emptyCounts());
  }

  /** Copy of the totals (what `breaker.counts` returns). */
  snapshot(): Counts {
    return {
      requests: this.requests,
      totalSuccesses: this.totalSuccesses,
      totalFailures: this.totalFailures,
      totalExclusions: this.totalExclusions,
      consecutiveSuccesses: this.consecutiveSuccesses,
      consecutiveFailures: this.consecutiveFailures,
    };
  }

  /** requests − totalExclusions, never below 0. */
  validRequests(): number {
    return this.requests < this.totalExclusions ? 0 : this.requests - this.totalExclusions;
  }

  index(age: number): number {
    const len = this.buckets.length;
    return len === 0 ? 0 : age % len;
  }

  current(): number {
    return this.index(this.age);
  }

  onRequest(): void {
    this.requests++;
    const bucket = this.buckets[this.current()];
    if (bucket !== undefined) bucket.requests++;
  }

  onSuccess(age: number): void {
    if (age > this.age || this.age - age >= this.buckets.length) return;
    onSuccess(this);
    onSuccess(this.buckets[this.index(age)]!);
  }

  onFailure(age: number): void {
    if (age > this.age || this.age - age >= this.buckets.length) return;
    onFailure(this);
    onFailure(this.buckets[this.index(age)]!);
  }

  onExclusion(age: number): void {
    if (age > this.age || this.age - age >= this.buckets.length) return;
    this.totalExclusions++;
    this.buckets[this.index(age)]!.totalExclusions++;
  }

  clear(): void {
    clearCounts(this);
    this.age = 0;
    for (const bucket of this.buckets) clearCounts(bucket);
  }

  roll(): void {
    this.age++;
    if (this.buckets.length === 0) return;
    const current = this.current();
    this.subtract(current);
    clearCounts(this.buckets[current]!);
  }

  /** Removes the oldest bucket's share from the totals; consecutive runs only when they lie wholly in the window. */
  subtract(oldest: number): void {
    const length = this.buckets.length;
    if (length === 0) return;
    const idx = oldest % length;
    const bucket = this.buckets[idx]!;

    let totalSuccesses = bucket.consecutiveSuccesses;
    let totalFailures = bucket.consecutiveFailures;
    for (let i = 0; i < length; i++) {
      if (i === idx) continue;
      totalSuccesses += this.buckets[i]!.totalSuccesses;
      totalFailures += this.buckets[i]!.totalFailures;
    }
    if (this.consecutiveSuccesses === totalSuccesses) {
      this.consecutiveSuccesses -= Math.min(this.consecutiveSuccesses, bucket.consecutiveSuccesses);
    }
    if (this.consecutiveFailures === totalFailures) {
      this.consecutiveFailures -= Math.min(this.consecutiveFailures, bucket.consecutiveFailures);
    }
    this.requests -= Math.min(this.requests, bucket.requests);
    this.totalSuccesses -= Math.min(this.totalSuccesses, bucket.totalSuccesses);
    this.totalFailures -= Math.min(this.totalFailures, bucket.totalFailures);
    this.totalExclusions -= Math.min(this.totalExclusions, bucket.totalExclusions);
  }

  /** Moves the window forward to `age`, dropping the buckets that leave it. */
  grow(age: number): void {
    if (age <= this.age) return;
    const diff = age - this.age;
    if (diff >= this.buckets.length) {
      this.clear();
      this.age = age;
      return;
    }
    if (diff === 1) {
      this.roll();
      return;
    }
    for (let i = 0; i < diff; i++) {
      this.age++;
      const current = this.current();
      const bucket = this.buckets[current]!;
      if (isEmpty(bucket)) continue;
      this.subtract(current);
      clearCounts(bucket);
    }
  }

  /** Bucket relative to the current one (0 = current, -1 = previous…), as a copy. */
  bucketAt(index: number): Counts {
    const len = this.buckets.length;
    if (len === 0) return emptyCounts();
    const idx = ((index % len) + len) % len;
    return { ...this.buckets[(this.current() + idx) % len]! };
  }
}
