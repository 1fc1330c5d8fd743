import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import {
  createGroupConsumer,
  createKafka,
  createKafkaProbe,
  createProducer,
  ensureTopics,
  retryAtStart,
} from '@eshop/kafka';
import { createNotificationClient } from '@eshop/notification/client';
import { createApp } from './app';
import { loadConfig } from './config';
import { consumeOrders } from './consume-orders';

main(async () => {
  const config = loadConfig();
  const kafka = createKafka('kafka-consumer', config.KAFKA_BROKERS);
  // Until Kafka answers, the consumer keeps trying rather than exiting (Kubernetes starts everything at once).
  await retryAtStart('create the topics', () => ensureTopics(kafka, [ORDERS_TOPIC, ORDERS_DEAD_LETTER_TOPIC]));
  const stopping = new AbortController();
  const group = createGroupConsumer(
    kafka,
    { groupId: config.KAFKA_GROUP_ID, sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS },
    stopping.signal,
  );
  const deadLetters = createProducer(kafka);
  const probe = createKafkaProbe(kafka);

  await retryAtStart('connect', () => Promise.all([group.consumer.connect(), deadLetters.connect()]));
  // With several brokers, a topic another instance has just created may be unknown yet to the one asked.
  await retryAtStart('subscribe to the topics', () =>
    consumeOrders({
      consumer: group,
      deadLetters,
      notification: createNotificationClient(config.NOTIFICATION_URL),
      config,
      slow: faultFromEnv('consumer-slow', config),
      stopping: stopping.signal,
    }),
  );
  const isReady = async () => group.isInGroup() && (await probe.isReachable());
  await runService('kafka-consumer', createApp(isReady), config.PORT, async () => {
    // Stops fetching, lets the message in hand finish (or, if it is waiting to be retried, leaves it
    // uncommitted for redelivery) and commits its offset, then leaves the group.
    stopping.abort();
    await group.consumer.disconnect();
    await Promise.all([deadLetters.disconnect(), probe.close()]);
  });
});
