export * from './health.module.js';
export * from './readiness-check.js';
export * from './shutdown-state.js';
