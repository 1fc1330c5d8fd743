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
  // Each rebalance in the log, with the partitions this instance reads after it: when an instance dies, the log
  // of another shows it taking them over.
  consumer.on(consumer.events.REBALANCING, () => logger.info('the consumer group is rebalancing'));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    inGroup = true;
    logger.info(
      { memberId: payload.memberId, partitions: payload.memberAssignment[ORDERS_TOPIC] ?? [] },
      'joined the consumer group',
    );
  });
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
  // With several brokers, a topic another instance has just created may be unknown yet to the one asked.
  await retryAtStart('subscribe to the topics', () =>
    consumeOrders({
      consumer,
      deadLetters,
      notification: createNotificationClient(config.NOTIFICATION_URL),
      config,
      slow: faultFromEnv('consumer-slow', config),
      stopping: stopping.signal,
    }),
  );
  const isReady = async () => inGroup && (await probe.isReachable());
  await runService('kafka-consumer', createApp(isReady), config.PORT, async () => {
    // Stops fetching, lets the message in hand finish (or, if it is waiting to be retried, leaves it
    // uncommitted for redelivery) and commits its offset, then leaves the group.
    stopping.abort();
    await consumer.disconnect();
    await Promise.all([deadLetters.disconnect(), probe.close()]);
  });
});
