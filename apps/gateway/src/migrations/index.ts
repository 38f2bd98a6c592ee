import { CreateJobs1763700000000 } from './1763700000000-create-jobs.js';

export const gatewayMigrations = [CreateJobs1763700000000];
