import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TpgConfig } from '../config/tpg.config';
import { TPG_CONFIG } from '../dispatch/dispatch.types';

/** Operators only: `Authorization: Bearer <OPERATOR_API_TOKEN>`, compared in constant time. */
@Injectable()
export class OperatorTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(TPG_CONFIG) config: Pick<TpgConfig, 'operatorApiToken'>) {
    this.expected = digest(config.operatorApiToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const header = http.getRequest<{ headers: Record<string, string | string[] | undefined> }>().headers
      .authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    // Hashing first gives equal-length buffers, so the comparison time says nothing about the token.
    if (match && timingSafeEqual(digest(match[1]), this.expected)) return true;
    http
      .getResponse<{ setHeader(name: string, value: string): unknown }>()
      .setHeader('WWW-Authenticate', 'Bearer realm="manual-dispatch"');
    throw new UnauthorizedException({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Authorization: a valid operator bearer token is required',
    });
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
