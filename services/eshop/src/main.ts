import { createBillingClient } from '@eshop/billing/client';
import { createDeliveryClient } from '@eshop/delivery/client';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { main, runService } from '@eshop/http';
import { createInventoryClient } from '@eshop/inventory/client';
import { createKafka, createKafkaProbe, ensureTopics } from '@eshop/kafka';
import { createApp } from './app';
import { Checkout } from './checkout';
import { loadConfig } from './config';
import { createOrderPublisher } from './publisher';

main(async () => {
  const config = loadConfig();
  const kafka = createKafka('eshop', config.KAFKA_BROKERS);
  await ensureTopics(kafka, [ORDERS_TOPIC, ORDERS_DEAD_LETTER_TOPIC]);
  // Few, short retries: kafkajs gives up on its own well before PUBLISH_TIMEOUT_MS, rather than delivering an
  // event after the checkout was already undone.
  const producer = kafka.producer({ retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 } });
  await producer.connect();
  const probe = createKafkaProbe(kafka);

  const downstream = { timeoutMs: config.DOWNSTREAM_TIMEOUT_MS, retries: config.DOWNSTREAM_RETRIES };
  const checkout = new Checkout({
    inventory: createInventoryClient(config.INVENTORY_URL, downstream),
    billing: createBillingClient(config.BILLING_URL, downstream),
    delivery: createDeliveryClient(config.DELIVERY_URL, downstream),
    publisher: createOrderPublisher(producer, config.PUBLISH_TIMEOUT_MS),
  });
  const app = createApp(checkout, () => probe.isReachable(), { faultHeader: config.FAULT_INJECTION_HEADER === 'enabled' });
  await runService('eshop', app, config.PORT, async () => {
    await producer.disconnect();
    await probe.close();
  });
});
