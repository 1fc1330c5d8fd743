import { DELIVERY_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import { createGroupConsumer, createKafka, createProducer, ensureTopics, retryAtStart } from '@eshop/kafka';
import { createApp } from './app';
import { loadConfig } from './config';
import { dispatchOrders } from './dispatch';
import { Schedule } from './schedule';

main(async () => {
  const config = loadConfig();
  const schedule = new Schedule(faultFromEnv('delivery-slow', config));
  const kafka = createKafka('delivery', config.KAFKA_BROKERS);
  const stopping = new AbortController();
  const group = createGroupConsumer(kafka, { groupId: config.KAFKA_GROUP_ID }, stopping.signal);
  const deadLetters = createProducer(kafka);
  // The HTTP API first: checkouts arrange deliveries whether or not Kafka is there yet; only dispatching waits for
  // it. Ready once in its group: before, an order's event would wait in Kafka for a delivery that is not dispatching.
  await runService(
    'delivery',
    createApp(schedule, () => group.isInGroup()),
    config.PORT,
    async () => {
      stopping.abort();
      await group.consumer.disconnect();
      await deadLetters.disconnect();
    },
  );
  // Until Kafka answers, delivery keeps trying rather than exiting (Kubernetes starts everything at once).
  await retryAtStart('create the topics', () => ensureTopics(kafka, [ORDERS_TOPIC, DELIVERY_DEAD_LETTER_TOPIC]));
  await retryAtStart('connect', () => Promise.all([group.consumer.connect(), deadLetters.connect()]));
  await retryAtStart('subscribe to the topics', () => dispatchOrders(group, schedule, deadLetters));
});
