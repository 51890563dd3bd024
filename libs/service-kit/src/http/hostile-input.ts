import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Deepest JSON nesting a body may have; deeper bodies are refused before validation recurses. */
export const DEFAULT_MAX_BODY_DEPTH = 16;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function badRequest(res: Response, field: string, problem: string): void {
  res
    .status(400)
    .json({ statusCode: 400, error: 'Bad Request', message: `${field}: ${problem}`, fields: [field] });
}

/** The first problem of a parsed JSON value: too deep, or a NUL character (Postgres refuses it in text). */
export function findBodyProblem(
  value: unknown,
  maxDepth: number,
  path = 'body',
  depth = 0,
): { field: string; problem: string } | undefined {
  if (typeof value === 'string') {
    return value.includes('\u0000') ? { field: path, problem: 'contains a NUL character' } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= maxDepth) return { field: path, problem: `nested deeper than ${maxDepth} levels` };
  const entries = Array.isArray(value)
    ? value.map((item, i) => [String(i), item] as const)
    : Object.entries(value);
  for (const [key, item] of entries) {
    const child = path === 'body' ? key : `${path}.${key}`;
    if (key.includes('\u0000')) return { field: path, problem: 'a key contains a NUL character' };
    const found = findBodyProblem(item, maxDepth, child, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Refuses, with a 400 naming the field, what would otherwise reach the database or the validator
 * as a crash: control characters in the path or the query string, NUL characters anywhere in the
 * body, and bodies nested deeper than `maxDepth`. Install after the JSON parser.
 */
export function hostileInputGuard(maxDepth = DEFAULT_MAX_BODY_DEPTH) {
  return (req: Request, res: Response, next: NextFunction): void => {
    let path: string;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      badRequest(res, 'path', 'malformed percent-encoding');
      return;
    }
    if (CONTROL.test(path)) {
      badRequest(res, 'path', 'contains a control character');
      return;
    }
    const query = req.originalUrl.includes('?')
      ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1)
      : '';
    if (query !== '') {
      let decoded: string;
      try {
        decoded = decodeURIComponent(query.replace(/\+/g, ' '));
      } catch {
        badRequest(res, 'query', 'malformed percent-encoding');
        return;
      }
      if (CONTROL.test(decoded)) {
        badRequest(res, 'query', 'contains a control character');
        return;
      }
    }
    const problem = findBodyProblem(req.body, maxDepth);
    if (problem) {
      badRequest(res, problem.field, problem.problem);
      return;
    }
    next();
  };
}

/**
 * Answers requests Node's HTTP parser refuses (oversized headers → 431, malformed → 400) with a
 * JSON body in Nest's shape instead of an empty one.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      statusCode: status,
      error: tooLarge ? 'Request Header Fields Too Large' : 'Bad Request',
      message: tooLarge ? 'headers: larger than the server accepts' : 'request: malformed HTTP',
      fields: [tooLarge ? 'headers' : 'request'],
    });
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  });
}
