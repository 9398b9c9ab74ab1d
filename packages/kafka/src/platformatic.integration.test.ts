import { testInfra } from '@loomwatch/testkit';
import { kafkaPortsContract } from './kafka-ports.contract.js';
import { createKafkaClient } from './platformatic/client.js';

const infra = testInfra();

kafkaPortsContract('@platformatic/kafka', () => infra.kafkaBrokers, () => createKafkaClient({ brokers: infra.kafkaBrokers, clientId: 'contract-platformatic' }));
