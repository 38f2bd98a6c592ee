import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/**
 * Flips as soon as Nest starts closing the app (onModuleDestroy is its first hook), so readiness answers
 * 503 while consumers drain and the HTTP server is still up.
 */
@Injectable()
export class ShutdownState implements OnModuleDestroy {
  private closing = false;

  get shuttingDown(): boolean {
    return this.closing;
  }

  onModuleDestroy(): void {
    this.closing = true;
  }
}
