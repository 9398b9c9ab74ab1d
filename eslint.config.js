// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const PORTS = 'Kafka is behind the ports of @loomwatch/kafka: use createKafkaClient() and the KafkaClient ports.';
const KAFKA_CLIENTS = {
  platformatic: { name: '@platformatic/kafka', message: PORTS },
  kafkajs: { name: 'kafkajs', message: `${PORTS} (kafkajs is only the baseline of bench:kafka)` },
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', '.loomwatch/**', '**/dist/**', 'models/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Kafka sits behind the ports of @loomwatch/kafka; only its adapter names the client library,
    // and only the client benchmark names kafkajs (its baseline).
    files: ['**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [KAFKA_CLIENTS.platformatic, KAFKA_CLIENTS.kafkajs] }] },
  },
  {
    files: ['packages/kafka/src/platformatic/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [KAFKA_CLIENTS.kafkajs] }] },
  },
  {
    files: ['packages/kafka/bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [KAFKA_CLIENTS.platformatic] }] },
  },
  {
    // expect.any() / objectContaining() are typed `any` by design.
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // deploy/cli/bin/loomwatch has no extension (completion needs a command named loomwatch).
    files: ['**/*.js', 'deploy/cli/bin/loomwatch'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'module', globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
