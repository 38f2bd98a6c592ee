export * from './data-source.js';
export * from './database-readiness.js';
export * from './database-unavailable.js';
export * from './migrate.js';
export * from './database.module.js';
export * from './group-committer.js';
export * from './prepared-statement.js';
export * from './ensure-database.js';
