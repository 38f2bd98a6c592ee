export * from './metrics.js';
export * from './metrics.module.js';
export * from './logging.js';
export * from './tracing.js';
