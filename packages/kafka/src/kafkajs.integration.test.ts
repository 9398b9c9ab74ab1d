import { testInfra } from '@loomwatch/testkit';
import { kafkaPortsContract } from './kafka-ports.contract.js';
import { createKafkaClient } from './kafkajs/client.js';

const infra = testInfra();

kafkaPortsContract('kafkajs', () => infra.kafkaBrokers, () => createKafkaClient({ brokers: infra.kafkaBrokers, clientId: 'contract-kafkajs' }));
