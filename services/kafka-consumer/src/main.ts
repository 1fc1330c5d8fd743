import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { main, runService } from '@eshop/http';
import { createKafka, createKafkaProbe, ensureTopics } from '@eshop/kafka';
import { createNotificationClient } from '@eshop/notification/client';
import { createApp } from './app';
import { loadConfig } from './config';
import { consumeOrders } from './consumer';
import { createEmailer } from './emailer';

main(async () => {
  const config = loadConfig();
  const kafka = createKafka('kafka-consumer', config.KAFKA_BROKERS);
  await ensureTopics(kafka, [ORDERS_TOPIC, ORDERS_DEAD_LETTER_TOPIC]);
  const consumer = kafka.consumer({ groupId: config.KAFKA_GROUP_ID });
  const deadLetters = kafka.producer();
  const probe = createKafkaProbe(kafka);
  let inGroup = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (inGroup = true));
  consumer.on(consumer.events.CRASH, () => (inGroup = false));

  await Promise.all([consumer.connect(), deadLetters.connect()]);
  await consumeOrders({
    consumer,
    deadLetters,
    handle: createEmailer(createNotificationClient(config.NOTIFICATION_URL)),
    traceMode: config.KAFKA_TRACE_MODE,
  });
  const isReady = async () => inGroup && (await probe.isReachable());
  await runService('kafka-consumer', createApp(isReady), config.PORT, async () => {
    // Stops fetching, lets the message in hand finish and commits its offset.
    await consumer.disconnect();
    await Promise.all([deadLetters.disconnect(), probe.close()]);
  });
});
