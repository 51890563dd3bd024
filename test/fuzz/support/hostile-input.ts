import fc from 'fast-check';
import http from 'node:http';

/** The declared shape of a JSON body, enough to generate values that must be refused. */
export type FieldSpec =
  | { kind: 'string'; maxLength: number; pattern?: RegExp; optional?: boolean }
  | { kind: 'number'; min: number; max: number; integer?: boolean; optional?: boolean }
  | { kind: 'enum'; values: readonly string[]; optional?: boolean }
  | { kind: 'object'; fields: Shape; optional?: boolean };
export type Shape = Record<string, FieldSpec>;

/** One hostile request: a raw body (or none), extra headers, and what it tries. */
export interface HostileRequest {
  kind: string;
  body?: string;
  headers?: Record<string, string>;
}

const wrongForString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
const wrongForNumber = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

/** Values of the wrong type, or out of range, or violating the field's pattern. */
function invalidValue(spec: FieldSpec): fc.Arbitrary<unknown> {
  // null on an optional field means "absent", which is valid.
  return spec.optional ? invalidOf(spec).filter((value) => value !== null) : invalidOf(spec);
}

function invalidOf(spec: FieldSpec): fc.Arbitrary<unknown> {
  switch (spec.kind) {
    case 'string': {
      const options: fc.Arbitrary<unknown>[] = [
        wrongForString,
        fc.string({ unit: 'grapheme', minLength: spec.maxLength + 1, maxLength: spec.maxLength + 40 }),
      ];
      if (spec.pattern) {
        const pattern = spec.pattern;
        options.push(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((value) => !pattern.test(value)),
        );
      }
      return fc.oneof(...options);
    }
    case 'number': {
      const huge = fc.constantFrom(1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** 64, -(2 ** 64));
      const outOfRange = fc.oneof(
        fc.double({ min: spec.max + 1, max: 1e300, noNaN: true, noDefaultInfinity: true }),
        fc.double({ min: -1e300, max: spec.min - 1, noNaN: true, noDefaultInfinity: true }),
      );
      const options: fc.Arbitrary<unknown>[] = [wrongForNumber, huge, outOfRange];
      if (spec.integer) {
        options.push(
          fc
            .double({ min: Math.max(spec.min, 1), max: Math.min(spec.max, 1e6), noNaN: true })
            .filter((value) => !Number.isInteger(value)),
        );
      }
      return fc.oneof(...options);
    }
    case 'enum':
      return fc.oneof(
        wrongForString,
        fc.string({ unit: 'grapheme', maxLength: 20 }).filter((value) => !spec.values.includes(value)),
      );
    case 'object':
      return fc.oneof(wrongForString, fc.string({ maxLength: 10 }));
  }
}

/** Every dotted path of a shape with its spec. */
function paths(shape: Shape, prefix = ''): Array<[string, FieldSpec]> {
  return Object.entries(shape).flatMap(([name, spec]) => {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    return spec.kind === 'object'
      ? [[path, spec] as [string, FieldSpec], ...paths(spec.fields, path)]
      : [[path, spec] as [string, FieldSpec]];
  });
}

function setPath(
  target: Record<string, unknown>,
  path: string,
  value: unknown,
  remove = false,
): Record<string, unknown> {
  const copy = structuredClone(target);
  const keys = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (remove) delete node[last];
  else node[last] = value;
  return copy;
}

function nested(depth: number, leaf: unknown, asArray: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
}

/**
 * Bodies a strict endpoint must refuse with a 4xx: malformed JSON, wrong types, huge and
 * out-of-range numbers, unicode (unknown keys, pattern-breaking values), deep nesting, missing
 * required fields, non-object bodies and bodies over 100 kB.
 */
export function hostileBodies(valid: Record<string, unknown>, shape: Shape): fc.Arbitrary<HostileRequest> {
  const text = JSON.stringify(valid);
  const fieldPaths = paths(shape);
  const required = fieldPaths.filter(([path, spec]) => !spec.optional && !path.includes('.')).map(([p]) => p);
  const known = new Set(Object.keys(shape));
  const json =
    (kind: string) =>
    (body: unknown): HostileRequest => ({ kind, body: JSON.stringify(body) });
  const arbitraries: fc.Arbitrary<HostileRequest>[] = [
    fc
      .tuple(
        fc.integer({ min: 1, max: text.length - 1 }),
        fc.constantFrom('', '}', ',', '"', '\u0000', 'NaN', "'"),
      )
      .map(([cut, tail]) => text.slice(0, cut) + tail)
      .filter((body) => {
        try {
          JSON.parse(body);
          return false;
        } catch {
          return true;
        }
      })
      .map((body) => ({ kind: 'malformed-json', body })),
    fc
      .constantFrom(...fieldPaths)
      .chain(([path, spec]) => invalidValue(spec).map((value) => setPath(valid, path, value)))
      .map(json('wrong-type-or-range')),
    fc
      .tuple(
        fc
          .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
          .filter((key) => !known.has(key) && key !== '__proto__'),
        fc.string({ unit: 'binary', maxLength: 50 }),
      )
      .map(([key, value]) => ({ ...valid, [key]: value }))
      .map(json('unknown-unicode-field')),
    fc
      .tuple(fc.constantFrom(...fieldPaths), fc.integer({ min: 17, max: 4000 }), fc.boolean())
      .map(([[path], depth, asArray]) => setPath(valid, path, nested(depth, 1, asArray)))
      .map(json('deep-nesting')),
    fc
      .constantFrom(...fieldPaths)
      .map(([path]) => setPath(valid, path, '\u0000'.repeat(3)))
      .filter((body) => JSON.stringify(body) !== text)
      .map(json('nul-characters')),
    fc
      .constantFrom(...fieldPaths)
      .map(([path]) => setPath(valid, path, 'x'.repeat(120_000)))
      .map(json('oversized-body')),
    fc
      .oneof(
        fc.constant(null),
        fc.integer(),
        fc.string({ maxLength: 10 }),
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
      )
      .map(json('non-object-body')),
  ];
  if (required.length > 0) {
    arbitraries.push(
      fc
        .constantFrom(...required)
        .map((path) => setPath(valid, path, undefined, true))
        .map(json('missing-field')),
    );
  }
  return fc.oneof(...arbitraries);
}

/** Path segments that name nothing: unicode, control characters, huge numbers, dots, very long ids. */
export function hostileIds(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
    fc.bigInt({ min: 10n ** 18n, max: 10n ** 40n }).map(String),
    fc.constantFrom('0', '-1', '1e308', 'NaN', '%00', '..', '9223372036854775808', 'x'.repeat(5000)),
  );
}

/** Query strings whose values are wrong: unicode, huge numbers, arrays, control characters. */
export function hostileQueryValues(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('1e308', '-1e308', '99999999999999999999999', 'NaN', 'Infinity', '', ' ', '0x10', '1,2'),
    fc
      .double({ noNaN: true })
      .filter((n) => Math.abs(n) > 1e6)
      .map(String),
  );
}

/** An answer as the fuzz tests judge it. */
export interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

/** Sends raw bytes (no client-side validation of headers) and reads the answer. */
export function rawRequest(
  url: string,
  method: string,
  body: string | undefined,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        headers: {
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Left as text: the assertion reports a non-JSON answer.
          }
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: parsed,
          });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Whether an answer is a refusal the way the contract wants it: 4xx, JSON, Nest's shape, naming what was wrong. */
export function isProperRefusal(answer: Answer): boolean {
  if (answer.status < 400 || answer.status >= 500) return false;
  if (!answer.contentType.includes('application/json')) return false;
  const body = answer.body as { statusCode?: unknown; message?: unknown; fields?: unknown; field?: unknown };
  if (typeof body !== 'object' || body === null) return false;
  if (body.statusCode !== answer.status || typeof body.message !== 'string' || body.message === '')
    return false;
  if (answer.status === 400) {
    const fields = Array.isArray(body.fields)
      ? body.fields
      : typeof body.field === 'string'
        ? [body.field]
        : [];
    return fields.length > 0 || /^[\w.[\]-]+:/.test(body.message);
  }
  return true;
}

/** Runs `property` `numRuns` times with a fixed seed; returns how many inputs were tried. */
export async function fuzz<T>(
  arbitrary: fc.Arbitrary<T>,
  check: (input: T) => Promise<void>,
  numRuns: number,
  seed: number,
): Promise<number> {
  let tried = 0;
  await fc.assert(
    fc.asyncProperty(arbitrary, async (input) => {
      tried += 1;
      await check(input);
    }),
    { numRuns, seed, endOnFailure: true },
  );
  return tried;
}
