/** One jest config for the whole monorepo: unit specs beside the code, e2e specs under apps/<app>/test. */
const fs = require('node:fs');
const swc = JSON.parse(fs.readFileSync(`${__dirname}/.swcrc`, 'utf8'));

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'].filter((dir) =>
    fs.existsSync(dir.replace('<rootDir>', __dirname)),
  ),
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { ...swc, swcrc: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@app/resilience$': '<rootDir>/libs/resilience/src',
    '^@app/resilience/(.*)$': '<rootDir>/libs/resilience/src/$1',
    '^@app/service-kit$': '<rootDir>/libs/service-kit/src',
    '^@app/service-kit/(.*)$': '<rootDir>/libs/service-kit/src/$1',
  },
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 2,
};
