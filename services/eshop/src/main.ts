import { createBillingClient } from '@eshop/billing/client';
import { createDeliveryClient } from '@eshop/delivery/client';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { main, runService } from '@eshop/http';
import { createInventoryClient } from '@eshop/inventory/client';
import { createKafka, createKafkaProbe, createProducer, ensureTopics } from '@eshop/kafka';
import { createApp } from './app';
import { Checkout } from './checkout';
import { loadConfig } from './config';
import { createOrderPublisher } from './publisher';

main(async () => {
  const config = loadConfig();
  const kafka = createKafka('eshop', config.KAFKA_BROKERS);
  await ensureTopics(kafka, [ORDERS_TOPIC, ORDERS_DEAD_LETTER_TOPIC]);
  // The checkout waits for the producer's own verdict, so the producer must reach one quickly: few, short
  // retries (kafkajs nests the client's retries for connections and metadata inside the producer's), and
  // PUBLISH_TIMEOUT_MS for any one request. With the broker down, it gives up within a few seconds.
  const publishRetry = { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 };
  const publishing = createKafka('eshop', config.KAFKA_BROKERS, {
    retry: publishRetry,
    connectionTimeout: 1000,
    requestTimeout: config.PUBLISH_TIMEOUT_MS,
  });
  const producer = createProducer(publishing, { retry: publishRetry });
  await producer.connect();
  const probe = createKafkaProbe(kafka);

  const downstream = { timeoutMs: config.DOWNSTREAM_TIMEOUT_MS, retries: config.DOWNSTREAM_RETRIES };
  const checkout = new Checkout({
    inventory: createInventoryClient(config.INVENTORY_URL, downstream),
    billing: createBillingClient(config.BILLING_URL, downstream),
    delivery: createDeliveryClient(config.DELIVERY_URL, downstream),
    publisher: createOrderPublisher(producer),
  });
  const app = createApp(checkout, () => probe.isReachable(), {
    faultHeader: config.FAULT_INJECTION_HEADER === 'enabled',
  });
  await runService('eshop', app, config.PORT, async () => {
    await producer.disconnect();
    await probe.close();
  });
});
