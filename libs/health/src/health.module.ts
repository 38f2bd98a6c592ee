import { Module, type DynamicModule, type InjectionToken } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { READINESS_CHECKS, type ReadinessCheck } from './readiness-check.js';
import { ShutdownState } from './shutdown-state.js';

export interface HealthModuleOptions {
  readonly inject?: InjectionToken[];
  readonly readiness: (...deps: never[]) => readonly ReadinessCheck[];
}

/** `GET /health/live` and `GET /health/ready` on the service's own port. */
@Module({})
export class HealthModule {
  static forRoot(options: HealthModuleOptions): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [
        ShutdownState,
        { provide: READINESS_CHECKS, inject: options.inject ?? [], useFactory: options.readiness },
      ],
      exports: [ShutdownState],
    };
  }
}
