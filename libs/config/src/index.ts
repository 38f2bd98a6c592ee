export * from './common.schema.js';
export * from './duration.js';
export * from './load-config.js';
