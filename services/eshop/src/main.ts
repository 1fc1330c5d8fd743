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
  const producer = kafka.producer();
  await producer.connect();
  const probe = createKafkaProbe(kafka);

  const checkout = new Checkout({
    inventory: createInventoryClient(config.INVENTORY_URL),
    billing: createBillingClient(config.BILLING_URL),
    delivery: createDeliveryClient(config.DELIVERY_URL),
    publisher: createOrderPublisher(producer),
  });
  await runService('eshop', createApp(checkout, () => probe.isReachable()), config.PORT, async () => {
    await producer.disconnect();
    await probe.close();
  });
});
