import { createBillingClient } from '@eshop/billing/client';
import { openDataFile } from '@eshop/config';
import { createDeliveryClient } from '@eshop/delivery/client';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '@eshop/events';
import { main, runService } from '@eshop/http';
import { createInventoryClient } from '@eshop/inventory/client';
import { createKafka, createProducer, ensureTopics, retryAtStart } from '@eshop/kafka';
import { logger } from '@eshop/logger';
import { createNotificationClient } from '@eshop/notification/client';
import { createApp } from './app';
import { browserSpansRoutes } from './browser-spans';
import { Checkout } from './checkout';
import { loadConfig } from './config';
import { createGraphqlHandler } from './graphql';
import { OrderRecords } from './orders';
import { OrderOutbox } from './outbox';
import { storefrontRoutes } from './storefront';
import { TraceReader } from './traces';

main(async () => {
  const config = loadConfig();
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
  const db = openDataFile(config.OUTBOX_DB, '');
  const orders = new OrderRecords(db);
  const outbox = new OrderOutbox(db, producer, (orderIds, at) => orders.published(orderIds, at));

  const downstream = { timeoutMs: config.DOWNSTREAM_TIMEOUT_MS, retries: config.DOWNSTREAM_RETRIES };
  const inventory = createInventoryClient(config.INVENTORY_URL, downstream);
  const billing = createBillingClient(config.BILLING_URL, downstream);
  const delivery = createDeliveryClient(config.DELIVERY_URL, downstream);
  const checkout = new Checkout({
    inventory,
    billing,
    delivery,
    outbox,
    orders,
    db,
    idempotencyRetentionMs: config.IDEMPOTENCY_RETENTION_MS,
    undoRetry: { firstMs: 1000, maxMs: config.UNDO_RETRY_MAX_MS },
  });
  // Before the first checkout: what an earlier run left half done is undone.
  checkout.recover();

  const faultHeader = config.FAULT_INJECTION_HEADER === 'enabled';
  const storefront = storefrontRoutes({
    orders,
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
  const stopping = new AbortController();
  await runService('eshop', app, config.PORT, async () => {
    stopping.abort();
    await Promise.all([checkout.close(), outbox.close()]);
    await producer.disconnect();
    db.close();
  });

  // Kafka may be away now (Kubernetes starts everything at once): eshop takes checkouts all the same, and the
  // outbox starts sending what it holds, from this run and earlier ones, once the broker answers.
  const kafka = createKafka('eshop', config.KAFKA_BROKERS);
  retryAtStart(
    'create the topics',
    () => ensureTopics(kafka, [ORDERS_TOPIC, ORDERS_DEAD_LETTER_TOPIC]),
    stopping.signal,
  )
    .then(() => retryAtStart('connect the producer', () => producer.connect(), stopping.signal))
    .then(() => outbox.start())
    .catch((error: unknown) => {
      if (!stopping.signal.aborted) logger.error({ err: error }, 'the outbox cannot reach Kafka');
    });
});
