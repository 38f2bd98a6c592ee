// `npm run test:faults`: the fault suite, apart from `npm test`. Each scenario starts its own RabbitMQ node
// and Postgres cluster and breaks them on purpose, so the scenarios run one at a time (--runInBand).
import base from './jest.config.js';

const { displayName: _unit, testMatch: _unitMatch, ...common } = base.projects[0];

export default {
  ...common,
  displayName: 'faults',
  testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
  testTimeout: 10 * 60_000,
  slowTestThreshold: 600,
};
