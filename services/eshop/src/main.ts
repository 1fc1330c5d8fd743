import { createBillingClient } from '@eshop/billing/client';
import { createDeliveryClient } from '@eshop/delivery/client';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { main, runService } from '@eshop/http';
import { createInventoryClient } from '@eshop/inventory/client';
import { createKafka, createProducer, ensureTopics, retryAtStart } from '@eshop/kafka';
import { createNotificationClient } from '@eshop/notification/client';
import { createApp } from './app';
import { browserSpansRoutes } from './browser-spans';
import { Checkout } from './checkout';
import { loadConfig } from './config';
import { createGraphqlHandler } from './graphql';
import { OrderOutbox } from './outbox';
import { storefrontRoutes } from './storefront';
import { TraceReader } from './traces';

main(async () => {
  const config = loadConfig();
  // Until Kafka answers, eshop keeps trying rather than exiting (Kubernetes starts everything at once).
  const kafka = createKafka('eshop', config.KAFKA_BROKERS);
  await retryAtStart('create the topics', () => ensureTopics(kafka, [ORDERS_TOPIC, ORDERS_DEAD_LETTER_TOPIC]));
  // Few, short retries (kafkajs nests the client's retries for connections and metadata inside the producer's),
  // and PUBLISH_TIMEOUT_MS for any one request: with the broker away, a send gives up within seconds, and the
  // outbox's own backoff paces the next try.
  const publishRetry = { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 };
  const publishing = createKafka('eshop', config.KAFKA_BROKERS, {
    retry: publishRetry,
    connectionTimeout: 1000,
    requestTimeout: config.PUBLISH_TIMEOUT_MS,
  });
  const producer = createProducer(publishing, { retry: publishRetry });
  await retryAtStart('connect the producer', () => producer.connect());
  const outbox = new OrderOutbox(config.OUTBOX_DB, producer);
  // What an earlier run accepted but could not send yet.
  outbox.send();

  const downstream = { timeoutMs: config.DOWNSTREAM_TIMEOUT_MS, retries: config.DOWNSTREAM_RETRIES };
  const inventory = createInventoryClient(config.INVENTORY_URL, downstream);
  const billing = createBillingClient(config.BILLING_URL, downstream);
  const delivery = createDeliveryClient(config.DELIVERY_URL, downstream);
  const checkout = new Checkout({ inventory, billing, delivery, outbox });
  const faultHeader = config.FAULT_INJECTION_HEADER === 'enabled';
  const storefront = storefrontRoutes({
    orders: outbox,
    inventory,
    notification: createNotificationClient(config.NOTIFICATION_URL),
    traces: new TraceReader(config.JAEGER_QUERY_URL),
    jaegerUiUrl: config.JAEGER_UI_URL,
    zipkinUiUrl: config.ZIPKIN_UI_URL,
    faultHeader,
  });
  const graphql = createGraphqlHandler({ checkout, inventory, billing, delivery });
  // Ready whether or not the broker is: a checkout needs only the outbox, which waits for the broker.
  const browserSpans = browserSpansRoutes({
    maxBytes: config.BROWSER_SPANS_MAX_BYTES,
    perMinute: config.BROWSER_SPANS_PER_MINUTE,
  });
  const app = createApp(checkout, { faultHeader, storefront, graphql, browserSpans });
  await runService('eshop', app, config.PORT, async () => {
    await outbox.close();
    await producer.disconnect();
  });
});
