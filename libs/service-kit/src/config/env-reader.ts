/** Raised at start when the environment is invalid; the message names every offending variable. */
export class EnvValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n  - ${problems.join('\n  - ')}`);
    this.name = 'EnvValidationError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads and validates environment variables, collecting every problem so the process can fail
 * fast with one message that names each variable. Call `done()` after reading everything.
 */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  get production(): boolean {
    return this.env.NODE_ENV === 'production';
  }

  /** A string; `fallback` undefined makes it required. */
  string(name: string, fallback?: string): string {
    const raw = this.raw(name);
    if (raw !== undefined) return raw;
    if (fallback === undefined) this.problems.push(`${name} is required`);
    return fallback ?? '';
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  /** A secret with a local default that must be set explicitly when NODE_ENV=production. */
  secret(name: string, localDefault: string): string {
    const raw = this.raw(name);
    if (raw !== undefined) return raw;
    if (this.production) {
      this.problems.push(`${name} is required when NODE_ENV=production`);
      return '';
    }
    return localDefault;
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer in [${min}, ${max}], got '${raw}'`);
      return fallback;
    }
    return value;
  }

  port(name: string, fallback: number): number {
    return this.int(name, fallback, { min: 0, max: 65535 });
  }

  /** An http(s) URL without a trailing slash. */
  url(name: string, fallback?: string): string {
    const value = this.string(name, fallback);
    if (value === '' && fallback === undefined) return value;
    try {
      const parsed = new URL(value);
      if (!['http:', 'https:'].includes(parsed.protocol)) throw new Error('protocol');
    } catch {
      this.problems.push(`${name} must be an http(s) URL, got '${value}'`);
    }
    return value.replace(/\/+$/, '');
  }

  /** A URL of any scheme (postgres://, redis://), or undefined when unset. */
  optionalUrl(name: string, protocols: string[]): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
    } catch {
      this.problems.push(`${name} must be a URL with scheme ${protocols.join(' or ')}`);
      return undefined;
    }
    return raw;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
      return fallback;
    }
    return raw as T;
  }

  /** A comma-separated list whose items must each be in `allowed`, without repeats. */
  list<T extends string>(name: string, allowed: readonly T[], fallback: T[]): T[] {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const items = raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    const bad = items.filter((item) => !(allowed as readonly string[]).includes(item));
    if (items.length === 0 || bad.length > 0 || new Set(items).size !== items.length) {
      this.problems.push(
        `${name} must be a comma-separated list of distinct ${allowed.join(', ')}, got '${raw}'`,
      );
      return fallback;
    }
    return items as T[];
  }

  /** JSON parsed and checked by `check`, which returns a problem description or undefined. */
  json<T>(name: string, fallback: T, check: (value: unknown) => string | undefined): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      this.problems.push(`${name} must be valid JSON`);
      return fallback;
    }
    const problem = check(value);
    if (problem !== undefined) {
      this.problems.push(`${name}: ${problem}`);
      return fallback;
    }
    return value as T;
  }

  /** Records a problem found by the caller's own cross-field checks. */
  fail(problem: string): void {
    this.problems.push(problem);
  }

  /** Throws EnvValidationError if anything read so far was invalid. */
  done(): void {
    if (this.problems.length > 0) throw new EnvValidationError([...this.problems]);
  }

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }
}
