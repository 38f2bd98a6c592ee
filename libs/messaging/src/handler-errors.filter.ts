import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

/**
 * Nest's default RPC filter swaps any non-RpcException for `{ message: 'Internal server error' }`, which would
 * hide a `PermanentError` from the transport. The transport decides ack/retry/dead-letter from the error
 * the handler threw, so this filter hands it over unchanged (and the transport logs it, once).
 */
@Catch()
export class HandlerErrorsFilter implements RpcExceptionFilter {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
