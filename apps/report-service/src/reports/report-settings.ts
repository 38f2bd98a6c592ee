export const REPORT_SETTINGS = Symbol('REPORT_SETTINGS');

export interface ReportSettings {
  /** How long a finished report stays downloadable. */
  readonly artifactRetentionMs: number;
  /** How often expired files are deleted. */
  readonly artifactSweepIntervalMs: number;
}
