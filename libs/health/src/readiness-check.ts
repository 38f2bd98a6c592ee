/** One dependency readiness depends on; `check` must not throw and should answer within a second. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<ReadinessResult> | ReadinessResult;
}

export interface ReadinessResult {
  readonly up: boolean;
  readonly detail?: string;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
