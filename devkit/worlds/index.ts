// One world per feature, seeded in moto alike by the integration and fault tests, the playground and
// the bench: each takes where to seed (a WorldTarget) and what to seed, and returns what it made.
export * from './aws.js';
export * from './ddb-export.js';
export * from './dumps.js';
export * from './migration.js';
export * from './people.js';
