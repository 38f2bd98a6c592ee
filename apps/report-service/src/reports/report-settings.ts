export const REPORT_SETTINGS = Symbol('REPORT_SETTINGS');

export interface ReportSettings {
  /** How long a finished report stays downloadable. */
  readonly artifactRetentionMs: number;
  /** How often expired files are deleted. */
  readonly artifactSweepIntervalMs: number;
  /** How long after its expiry a file is deleted: downloads begun before the expiry finish meanwhile. */
  readonly artifactDeleteGraceMs: number;
}
