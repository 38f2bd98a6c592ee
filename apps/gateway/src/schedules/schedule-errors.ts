/** No such schedule for this caller (another tenant's is indistinguishable from a missing one). */
export class ScheduleNotFoundError extends Error {
  constructor(readonly scheduleId: string) {
    super(`Schedule ${scheduleId} not found`);
    this.name = 'ScheduleNotFoundError';
  }
}
