import { CreateJobs1763700000000 } from './1763700000000-create-jobs.js';
import { CreateIdempotencyKeys1763800000000 } from './1763800000000-create-idempotency-keys.js';
import { OutboxDueAt1763900000000 } from './1763900000000-outbox-due-at.js';
import { JobChangeNotifications1764000000000 } from './1764000000000-job-change-notifications.js';
import { CreateDeadLetters1764100000000 } from './1764100000000-create-dead-letters.js';
import { CreateSchedules1764200000000 } from './1764200000000-create-schedules.js';
import { JobsInFlightIndex1764300000000 } from './1764300000000-jobs-in-flight-index.js';
import { JobsAsOutbox1764400000000 } from './1764400000000-jobs-as-outbox.js';
import { StartedEventsOnJobs1764500000000 } from './1764500000000-started-events-on-jobs.js';
import { SubmissionDeadline1764600000000 } from './1764600000000-submission-deadline.js';
import { JobReplays1764700000000 } from './1764700000000-job-replays.js';
import { OutboxJobIndex1764800000000 } from './1764800000000-outbox-job-index.js';

export const gatewayMigrations = [
  CreateJobs1763700000000,
  CreateIdempotencyKeys1763800000000,
  OutboxDueAt1763900000000,
  JobChangeNotifications1764000000000,
  CreateDeadLetters1764100000000,
  CreateSchedules1764200000000,
  JobsInFlightIndex1764300000000,
  JobsAsOutbox1764400000000,
  StartedEventsOnJobs1764500000000,
  SubmissionDeadline1764600000000,
  JobReplays1764700000000,
  OutboxJobIndex1764800000000,
];
