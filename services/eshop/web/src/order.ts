// An order's view, at `/orders/<orderId>`: its journey and its whole trace, asked of eshop's API every second until the
// e-mail is sent (and its spans are in) or the order failed.
import type { OrderTrace, OrderView, StorefrontConfig, TraceSpan } from '../../src/storefront-api';
import { byId, element, money, Problem, requestJson, showProblem } from './common.js';
import { checkoutTiming, saveCheckoutTiming, type CheckoutTiming } from './timing.js';
import { now } from './tracing.js';

const POLL_MS = 1000;
/** Once the e-mail is sent, how long the page waits for its spans to reach Jaeger before it stops asking. */
const SPANS_GRACE_MS = 30_000;
const QUEUE_TIME = 'eshop.kafka.queue_time_ms';
const DEAD_LETTER_REASON = 'eshop.dlq.reason';
const TOPIC = 'messaging.destination.name';

const problem = byId('journey-problem');
/** When this page first saw the e-mail sent, for how long it waits for the trace's last spans. */
let emailedAt: number | undefined;
const traceProblem = byId('trace-problem');

type StepState = 'done' | 'waiting' | 'failed';
interface Step {
  key: string;
  label: string;
  state: StepState;
  detail?: string;
}

const ms = (micros: number) => `${(micros / 1000).toFixed(1)} ms`;
const clock = (iso: string) => new Date(iso).toISOString().slice(11, 23);

/** A trace id, as a link into Jaeger's UI where there is one, else into Zipkin's. */
function traceLink(traceId: string, config: StorefrontConfig): HTMLElement {
  const code = element('code', {}, traceId);
  if (config.jaegerUiUrl) return element('a', { href: `${config.jaegerUiUrl}/trace/${traceId}` }, code);
  if (config.zipkinUiUrl) return element('a', { href: `${config.zipkinUiUrl}/traces/${traceId}` }, code);
  return code;
}

/** The six steps of an order, from what eshop tells (its record, notification's) and from the trace. */
function journey(order: OrderView, spans: TraceSpan[]): Step[] {
  const at = (status: OrderView['status']) => order.steps.find((step) => step.status === status)?.at;
  const call = (service: string, name: string) => {
    const span = spans.find((s) => s.service === service && s.kind === 'server' && s.name === name);
    return span ? `${service} ${name}, ${ms(span.durationMicros)}` : service;
  };
  const published = at('published');
  const emailed = at('e-mailed');
  const consumer = spans.find((s) => s.kind === 'consumer' && s.attributes[TOPIC] === 'orders');
  const deadLetter = spans.find((s) => s.attributes[DEAD_LETTER_REASON] !== undefined);
  const consumed = (span: TraceSpan) =>
    `after waiting ${String(span.attributes[QUEUE_TIME] ?? '?')} ms in Kafka` +
    (span.traceId === order.traceId ? '' : `, in a trace of its own that links to the order's`);
  return [
    { key: 'reserved', label: 'Stock reserved', state: 'done', detail: call('inventory', 'POST /createOrder') },
    { key: 'paid', label: 'Paid', state: 'done', detail: call('billing', 'POST /payment') },
    { key: 'delivery', label: 'Delivery arranged', state: 'done', detail: call('delivery', 'POST /arrangeDelivery') },
    {
      key: 'published',
      label: 'Published to orders',
      state: published ? 'done' : 'waiting',
      detail: published ? `Kafka had it at ${clock(published)}` : "in eshop's outbox, waiting for Kafka",
    },
    {
      key: 'consumed',
      label: 'Consumed by kafka-consumer',
      state: consumer ? 'done' : 'waiting',
      detail: consumer ? consumed(consumer) : 'waiting in Kafka, or for its span to reach Jaeger',
    },
    {
      key: 'email',
      label: 'E-mail sent',
      state: emailed ? 'done' : deadLetter ? 'failed' : 'waiting',
      ...(emailed
        ? { detail: `by notification at ${clock(emailed)}` }
        : deadLetter
          ? { detail: `dead-lettered to orders.DLQ: ${String(deadLetter.attributes[DEAD_LETTER_REASON])}` }
          : {}),
    },
  ];
}

const MARKS: Record<StepState, string> = { done: '✓', waiting: '…', failed: '✗' };

function renderSteps(steps: Step[]): void {
  byId('steps').replaceChildren(
    ...steps.map((step) =>
      element(
        'li',
        { 'data-step': step.key, 'data-state': step.state },
        element('span', { 'aria-hidden': 'true' }, `${MARKS[step.state]} `),
        element('strong', {}, step.label),
        `: ${step.state}`,
        step.detail ? ` (${step.detail})` : '',
      ),
    ),
  );
}

function renderSummary(order: OrderView, config: StorefrontConfig): void {
  byId('trace-id').replaceChildren(traceLink(order.traceId, config));
  byId('total').textContent = money(order.total, order.currency);
  byId('items').textContent = order.items.map((item) => `${item.quantity} × ${item.sku}`).join(', ');
  if (config.jaegerUiUrl) {
    const tags = JSON.stringify({ 'eshop.order.id': order.orderId });
    const search = `${config.jaegerUiUrl}/search?service=eshop&tags=${encodeURIComponent(tags)}`;
    byId('jaeger-search').replaceChildren(element('a', { href: search }, 'Find by order id in Jaeger'));
    byId('jaeger-search').hidden = false;
  } else if (config.zipkinUiUrl) {
    const search = `${config.zipkinUiUrl}/?annotationQuery=${encodeURIComponent(`eshop.order.id=${order.orderId}`)}`;
    byId('jaeger-search').replaceChildren(element('a', { href: search }, 'Find by order id in Zipkin'));
    byId('jaeger-search').hidden = false;
  }
}

/** What a row says beside the span's name: the Kafka wait, the topic, the HTTP status, a fault, an error, links. */
function notes(span: TraceSpan): string[] {
  const { attributes } = span;
  return [
    ...(attributes[QUEUE_TIME] !== undefined ? [`waited ${String(attributes[QUEUE_TIME])} ms in Kafka`] : []),
    ...(attributes[TOPIC] !== undefined ? [`topic ${String(attributes[TOPIC])}`] : []),
    ...(attributes['http.response.status_code'] !== undefined
      ? [`HTTP ${String(attributes['http.response.status_code'])}`]
      : []),
    ...(attributes['eshop.fault'] !== undefined ? [`fault ${String(attributes['eshop.fault'])}`] : []),
    ...(span.error ? ['ERROR'] : []),
    ...span.links.map((link) => `links to span ${link.spanId} of trace ${link.traceId}`),
  ];
}

/**
 * One table body per trace (the order's, then each that links to it), each span a row under its parent, every
 * bar on the same time axis.
 */
function renderWaterfall(trace: OrderTrace, config: StorefrontConfig): void {
  const table = byId('waterfall');
  for (const body of table.querySelectorAll('tbody')) body.remove();
  const { spans } = trace;
  if (spans.length === 0) {
    table.append(element('tbody', {}, element('tr', {}, element('td', { colspan: '6' }, 'No span in Jaeger yet.'))));
    return;
  }
  const axisStart = Math.min(...spans.map((span) => span.startMicros));
  const axisLength = Math.max(1, Math.max(...spans.map((span) => span.startMicros + span.durationMicros)) - axisStart);
  const percent = (micros: number) => `${((micros / axisLength) * 100).toFixed(2)}%`;

  const traceIds = [...new Set([trace.traceId, ...spans.map((span) => span.traceId)])];
  for (const traceId of traceIds) {
    const own = spans.filter((span) => span.traceId === traceId);
    const ids = new Set(own.map((span) => span.spanId));
    const children = new Map<string | undefined, TraceSpan[]>();
    for (const span of own) {
      const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
      children.set(parent, [...(children.get(parent) ?? []), span]);
    }
    const heading =
      traceId === trace.traceId
        ? ['Trace ', traceLink(traceId, config), ": the checkout's"]
        : ['Trace ', traceLink(traceId, config), ': linked, started by kafka-consumer for the event'];
    const body = element(
      'tbody',
      { 'data-trace-id': traceId },
      element('tr', {}, element('th', { colspan: '6', scope: 'rowgroup' }, ...heading)),
    );
    const addRows = (span: TraceSpan, depth: number) => {
      const noted = notes(span);
      const name = element(
        'td',
        {},
        depth > 0 ? '└ ' : '',
        span.name,
        noted.length > 0 ? element('small', {}, ` (${noted.join(', ')})`) : '',
      );
      name.style.paddingLeft = `${0.5 + depth * 1.25}em`;
      const bar = element('span', { class: span.error ? 'bar error' : 'bar' });
      Object.assign(bar.style, {
        marginLeft: percent(span.startMicros - axisStart),
        width: percent(span.durationMicros),
      });
      body.append(
        element(
          'tr',
          { 'data-service': span.service, 'data-kind': span.kind, 'data-depth': String(depth) },
          element('td', {}, span.service),
          name,
          element('td', {}, span.kind),
          element('td', {}, `+${ms(span.startMicros - axisStart)}`),
          element('td', {}, ms(span.durationMicros)),
          element('td', { class: 'timeline' }, bar),
        ),
      );
      for (const child of children.get(span.spanId) ?? []) addRows(child, depth + 1);
    };
    for (const root of children.get(undefined) ?? []) addRows(root, 0);
    table.append(body);
  }
}

/**
 * Whether the trace has come in whole: the e-mail's span, and every span's parent. The spans of one trace reach
 * Jaeger from each service on its own schedule: the consumer's span ends after the e-mail it waited for, and
 * may come in a second after it; the click's, from the storefront, once the page has sent it.
 */
function isWhole(spans: TraceSpan[]): boolean {
  const ids = new Set(spans.map((span) => span.spanId));
  return (
    spans.some((span) => span.service === 'notification' && span.kind === 'server') &&
    spans.every((span) => span.parentSpanId === undefined || ids.has(span.parentSpanId))
  );
}

/** Shows the shopper's own wait, as this browser timed it: from the click to the 201, and to "E-mail sent". */
function renderTimings(timing: CheckoutTiming | undefined): void {
  if (!timing) return;
  const since = (at: number) => `${Math.round(at - timing.clickedAt)} ms`;
  byId('click-to-answer').textContent = since(timing.answeredAt);
  byId('click-to-email').textContent = timing.emailShownAt === undefined ? '…' : since(timing.emailShownAt);
  byId('timings').hidden = false;
}

/** One round of asking; whether the page should ask again. */
async function refresh(orderId: string, config: StorefrontConfig): Promise<boolean> {
  const [order, trace] = await Promise.allSettled([
    requestJson<OrderView>(`/api/orders/${encodeURIComponent(orderId)}`),
    requestJson<OrderTrace>(`/api/orders/${encodeURIComponent(orderId)}/trace`),
  ]);
  if (order.status === 'rejected') {
    showProblem(problem, order.reason);
    // An unknown or malformed order id stays so; anything else may pass.
    const final = order.reason instanceof Problem && (order.reason.status === 400 || order.reason.status === 404);
    return !final;
  }
  showProblem(problem, undefined);
  renderSummary(order.value, config);
  if (trace.status === 'rejected') {
    showProblem(traceProblem, trace.reason);
  } else {
    showProblem(traceProblem, undefined);
    renderWaterfall(trace.value, config);
  }
  const spans = trace.status === 'fulfilled' ? trace.value.spans : [];
  const steps = journey(order.value, spans);
  renderSteps(steps);
  const timing = checkoutTiming(orderId);
  if (order.value.status === 'e-mailed' && timing && timing.emailShownAt === undefined) {
    timing.emailShownAt = now();
    saveCheckoutTiming(orderId, timing);
  }
  renderTimings(timing);
  if (order.value.status === 'e-mailed') emailedAt ??= Date.now();
  const failed = steps.some((step) => step.state === 'failed');
  const complete = emailedAt !== undefined && isWhole(spans);
  const gaveUp = emailedAt !== undefined && Date.now() - emailedAt > SPANS_GRACE_MS;
  return !(failed || complete || gaveUp);
}

async function poll(orderId: string, config: StorefrontConfig): Promise<void> {
  const again = await refresh(orderId, config);
  byId('polling').textContent = again
    ? 'Updating every second…'
    : 'This page no longer updates: the order got as far as it will.';
  if (again) setTimeout(() => void poll(orderId, config), POLL_MS);
}

export function showOrder(orderId: string): void {
  byId('order').hidden = false;
  byId('order-id').textContent = orderId;
  document.title = `Order ${orderId} – eshop`;
  requestJson<StorefrontConfig>('/api/config')
    .then((config) => poll(orderId, config))
    .catch((error: unknown) => showProblem(problem, error));
}
