import { timingSafeEqual } from 'node:crypto';
import {
  ForbiddenException,
  Inject,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GATEWAY_CONFIG } from '../gateway.tokens.js';
import type { GatewayConfig } from '../gateway.config.js';
import { hashApiKey, type ApiKey, type Scope } from './api-keys.js';
import type { AuthenticatedRequest, Principal } from './principal.js';
import { TooManyRequestsError } from '../jobs/job-errors.js';
import { TokenBuckets } from '../limits/token-buckets.js';

const REQUIRED_SCOPE = Symbol('requiredScope');

/** The scope a route needs; `admin` satisfies every scope. */
export const RequireScope = (scope: Scope) => SetMetadata(REQUIRED_SCOPE, scope);

interface HeaderRequest extends AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly byHash: ReadonlyMap<string, ApiKey>;
  /** Each key's principal, made once (a request only reads it). */
  private readonly principals: ReadonlyMap<ApiKey, Principal>;
  /** Per API key: one key's burst never slows another key (or tenant) down. */
  private readonly rates: TokenBuckets;

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.byHash = new Map(config.apiKeys.map((k) => [k.keyHash, k]));
    this.principals = new Map(
      config.apiKeys.map((k) => [
        k,
        { tenant: k.tenant, scopes: k.scopes, actor: `${k.tenant}/key:${k.keyHash.slice(0, 12)}` },
      ]),
    );
    this.rates = new TokenBuckets(config.RATE_LIMIT_PER_SECOND, config.RATE_LIMIT_BURST);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<HeaderRequest>();
    const key = this.authenticate(request.headers.authorization);
    const admission = this.rates.take(key.keyHash);
    if (!admission.ok) {
      throw new TooManyRequestsError('Rate limit of this API key exceeded', admission.retryAfterSeconds);
    }
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(REQUIRED_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (scope && !key.scopes.has(scope) && !key.scopes.has('admin')) {
      throw new ForbiddenException(`This API key lacks the ${scope} scope`);
    }
    request.principal = this.principals.get(key);
    return true;
  }

  private authenticate(header: string | string[] | undefined): ApiKey {
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) throw new UnauthorizedException('An API key is required: Authorization: Bearer <key>');
    const hash = hashApiKey(match[1]);
    const found = this.byHash.get(hash);
    // The lookup is by hash; the comparison of the stored hash is constant-time all the same.
    if (!found || !timingSafeEqual(Buffer.from(found.keyHash, 'hex'), Buffer.from(hash, 'hex'))) {
      throw new UnauthorizedException('Unknown API key');
    }
    return found;
  }
}
