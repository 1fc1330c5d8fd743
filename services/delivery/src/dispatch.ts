import { trace } from '@opentelemetry/api';
import { DELIVERY_DEAD_LETTER_TOPIC, ORDER_ID_KEY, ORDERS_TOPIC, parseOrderPlaced } from '@eshop/events';
import { consumeTopic, sendDeadLetter, type GroupConsumer, type Source } from '@eshop/kafka';
import { logger } from '@eshop/logger';
import type { KafkaMessage, Producer } from 'kafkajs';
import type { Schedule } from './schedule';

/**
 * Dispatches each order's delivery once its `OrderPlaced` event comes through `orders`, in delivery's own consumer
 * group: the second consumer of the same event, beside kafka-consumer's e-mail. It consumes in batches (`link` mode):
 * each batch is a new trace, and each message's CONSUMER span links to the checkout's producer span. Jaeger finds
 * that span from the checkout by the link, or by `eshop.order.id`, set here since no baggage comes with a link.
 *
 * At-least-once, as kafka-consumer (see `consumeTopic`): a replayed event finds its delivery dispatched and leaves it
 * as it was. An event that can never be dispatched (unreadable, or for an order delivery has not arranged) goes to
 * `orders.delivery.DLQ`, delivery's own, so that replaying it concerns delivery alone.
 */
export async function dispatchOrders(group: GroupConsumer, schedule: Schedule, deadLetters: Producer): Promise<void> {
  const dispatchOne = async (message: KafkaMessage, source: Source) => {
    const span = trace.getActiveSpan();
    const parsed = parseOrderPlaced(message.value);
    if (!parsed.ok) {
      await sendDeadLetter(deadLetters, DELIVERY_DEAD_LETTER_TOPIC, source, message, { ...parsed, attempts: 1 });
      return;
    }
    const { orderId } = parsed.event;
    span?.setAttribute(ORDER_ID_KEY, orderId);
    const dispatch = schedule.dispatch(orderId);
    if (!dispatch.ok) {
      const error = new Error(`the order cannot be dispatched (${dispatch.reason})`);
      await sendDeadLetter(deadLetters, DELIVERY_DEAD_LETTER_TOPIC, source, message, {
        reason: dispatch.reason,
        error,
        attempts: 1,
      });
      return;
    }
    span?.setAttribute('eshop.delivery.repeated', dispatch.repeated);
    logger.info({ ...source, orderId, repeated: dispatch.repeated }, 'delivery dispatched');
  };
  await consumeTopic(group, ORDERS_TOPIC, 'link', dispatchOne);
}
