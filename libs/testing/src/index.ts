export * from './broker-admin.js';
export * from './wait-for.js';
export * from './event-recorder.js';
