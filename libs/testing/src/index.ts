export * from './broker-admin.js';
export * from './wait-for.js';
export * from './event-recorder.js';
export * from './child-service.js';
export * from './free-port.js';
export * from './test-database.js';
export * from './tcp-proxy.js';
export * from './stack.js';
