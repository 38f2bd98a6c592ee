export * from './run-service.js';
export * from './service-runtime.js';
