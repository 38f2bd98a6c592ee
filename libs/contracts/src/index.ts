export * from './contract.js';
export * from './commands.js';
export * from './events.js';
export * from './registry.js';
export * from './json-value.js';
export * from './job-kinds.js';
