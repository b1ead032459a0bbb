/** Unit tests live in test/unit, end-to-end tests (real models, real audio) in test/e2e. */
module.exports = {
  testEnvironment: '<rootDir>/test/support/node-realm-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // content-disposition (under @fastify/static, which serves the Swagger UI) ships ESM only; Node loads it, jest needs it transpiled.
    '/node_modules/content-disposition/.+\\.js$': ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  // The client SDK's sources import with .js extensions (they build to ESM too); here they resolve to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 120000,
};
