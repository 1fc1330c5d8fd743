import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import { createKafka, createKafkaProbe, createProducer, ensureTopics, retryAtStart } from '@eshop/kafka';
import { logger } from '@eshop/logger';
import { createNotificationClient } from '@eshop/notification/client';
import { createApp } from './app';
import { loadConfig } from './config';
import { consumeOrders } from './consumer';

main(async () => {
  const config = loadConfig();
  const kafka = createKafka('kafka-consumer', config.KAFKA_BROKERS);
  // Until Kafka answers, the consumer keeps trying rather than exiting (Kubernetes starts everything at once).
  await retryAtStart('create the topics', () => ensureTopics(kafka, [ORDERS_TOPIC, ORDERS_DEAD_LETTER_TOPIC]));
  const consumer = kafka.consumer({ groupId: config.KAFKA_GROUP_ID, sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS });
  const deadLetters = createProducer(kafka);
  const probe = createKafkaProbe(kafka);
  const stopping = new AbortController();
  let inGroup = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (inGroup = true));
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    inGroup = false;
    // kafkajs restarts the consumer after a retriable failure, such as a broker that went away. After any
    // other, this process would keep running without consuming: exit, and let the orchestrator restart it.
    if (!payload.restart && !stopping.signal.aborted) {
      logger.fatal({ err: payload.error }, 'the consumer stopped for good');
      process.exit(1);
    }
  });

  await retryAtStart('connect', () => Promise.all([consumer.connect(), deadLetters.connect()]));
  await consumeOrders({
    consumer,
    deadLetters,
    notification: createNotificationClient(config.NOTIFICATION_URL),
    config,
    slow: faultFromEnv('consumer-slow', config),
    stopping: stopping.signal,
  });
  const isReady = async () => inGroup && (await probe.isReachable());
  await runService('kafka-consumer', createApp(isReady), config.PORT, async () => {
    // Stops fetching, lets the message in hand finish (or, if it is waiting to be retried, leaves it
    // uncommitted for redelivery) and commits its offset, then leaves the group.
    stopping.abort();
    await consumer.disconnect();
    await Promise.all([deadLetters.disconnect(), probe.close()]);
  });
});
