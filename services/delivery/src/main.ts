import { DELIVERY_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import {
  createGroupConsumer,
  createKafka,
  createProducer,
  ensureTopics,
  retryAtStart,
  watchGroupLag,
} from '@eshop/kafka';
import { createApp } from './app';
import { loadConfig } from './config';
import { dispatchOrders } from './dispatch';
import { Schedule } from './schedule';

/** How often the consumer group's lag is checked, for `/healthz` and the log. */
const LAG_CHECK_MS = 10_000;

main(async () => {
  const config = loadConfig();
  const schedule = new Schedule(config.DELIVERY_DB, faultFromEnv('delivery-slow', config));
  const kafka = createKafka('delivery', config.KAFKA_BROKERS);
  const stopping = new AbortController();
  const group = createGroupConsumer(kafka, { groupId: config.KAFKA_GROUP_ID }, stopping.signal);
  const deadLetters = createProducer(kafka);
  const lag = watchGroupLag(kafka, group, ORDERS_TOPIC, LAG_CHECK_MS, stopping.signal);
  // The HTTP API first, and ready at once: checkouts arrange deliveries whether or not Kafka is there, and an
  // order's event waits in Kafka until delivery dispatches it (its deliveries are on disk, so nothing is lost
  // meanwhile). Following the consumer group instead would take checkouts down with Kafka.
  await runService(
    'delivery',
    createApp(schedule, () => ({ consumer: lag() })),
    config.PORT,
    async () => {
      stopping.abort();
      await group.consumer.disconnect();
      await deadLetters.disconnect();
      schedule.close();
    },
  );
  // Until Kafka answers, delivery keeps trying rather than exiting (Kubernetes starts everything at once).
  await retryAtStart('create the topics', () => ensureTopics(kafka, [ORDERS_TOPIC, DELIVERY_DEAD_LETTER_TOPIC]));
  await retryAtStart('connect', () => Promise.all([group.consumer.connect(), deadLetters.connect()]));
  await retryAtStart('subscribe to the topics', () => dispatchOrders(group, schedule, deadLetters));
});
