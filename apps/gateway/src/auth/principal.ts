import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Scope } from './api-keys.js';

/** Who is calling: the tenant of the API key and what it may do. */
export interface Principal {
  readonly tenant: string;
  readonly scopes: ReadonlySet<Scope>;
  /** Who, for audit trails: the tenant and a fingerprint of the key (never the key itself). */
  readonly actor: string;
}

export function isAdmin(principal: Principal): boolean {
  return principal.scopes.has('admin');
}

export interface AuthenticatedRequest {
  principal?: Principal;
}

export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without ApiKeyGuard');
  return principal;
});
