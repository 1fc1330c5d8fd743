import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type AttributeValue,
  type HrTime,
  type Link,
} from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { fieldProblems, HttpError } from '@eshop/http';
import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';

/** The only service whose spans this endpoint takes: the storefront page, in a shopper's browser. */
export const BROWSER_SERVICE = 'storefront';
/** The resource attributes a browser may send: the SDK's and the browser's own. */
const BROWSER_RESOURCE_ATTRIBUTE = /^(service\.name|telemetry\.sdk\.[a-z_.]+|user_agent\.original|browser\.[a-z_.]+)$/;

// ---- OTLP/JSON (opentelemetry-proto's JSON mapping), as much of it as a browser's trace exporter sends ----------

/** A hex id of `bytes` bytes; all zeros is invalid (W3C Trace Context). */
const hexId = (bytes: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes * 2} lowercase hex digits`)
    .refine((id) => /[1-9a-f]/.test(id), 'not all zeros');
/** A uint64 of nanoseconds since the epoch: a decimal string, or a number, as the JSON mapping allows. */
const unixNanos = z.union([z.string().regex(/^\d{1,20}$/, 'a decimal number'), z.number().int().nonnegative()]);
const primitive = z.union([
  z.object({ stringValue: z.string().max(4096) }),
  z.object({ boolValue: z.boolean() }),
  z.object({ intValue: z.union([z.string().regex(/^-?\d{1,19}$/), z.number().int()]) }),
  z.object({ doubleValue: z.number() }),
]);
const anyValue = z.union([
  primitive,
  z.object({ arrayValue: z.object({ values: z.array(primitive).max(64).default([]) }) }),
]);
const keyValues = z
  .array(z.object({ key: z.string().min(1).max(256), value: anyValue }))
  .max(128)
  .default([]);
const dropped = z.number().int().nonnegative().default(0);

const span = z.object({
  traceId: hexId(16),
  spanId: hexId(8),
  parentSpanId: z.union([hexId(8), z.literal('')]).optional(),
  traceState: z.string().max(512).optional(),
  name: z.string().min(1).max(256),
  kind: z.number().int().min(0).max(5),
  startTimeUnixNano: unixNanos,
  endTimeUnixNano: unixNanos,
  attributes: keyValues,
  droppedAttributesCount: dropped,
  events: z
    .array(z.object({ timeUnixNano: unixNanos, name: z.string().max(256), attributes: keyValues }))
    .max(128)
    .default([]),
  droppedEventsCount: dropped,
  links: z
    .array(
      z.object({
        traceId: hexId(16),
        spanId: hexId(8),
        traceState: z.string().max(512).optional(),
        attributes: keyValues,
      }),
    )
    .max(32)
    .default([]),
  droppedLinksCount: dropped,
  status: z
    .object({ code: z.number().int().min(0).max(2).default(0), message: z.string().max(1024).optional() })
    .default({ code: 0 }),
});

const exportRequest = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: z.object({ attributes: keyValues }).default({ attributes: [] }),
        scopeSpans: z
          .array(
            z.object({
              scope: z.object({ name: z.string().max(256), version: z.string().max(64).optional() }).optional(),
              spans: z.array(span).max(512),
            }),
          )
          .max(16),
      }),
    )
    .min(1)
    .max(4),
});

type OtlpSpan = z.infer<typeof span>;
type OtlpValue = z.infer<typeof anyValue>;
type OtlpPrimitive = z.infer<typeof primitive>;

// ---- OTLP/JSON to the SDK's spans, so that one exporter, configured as every service's, sends them on ------------

function primitiveValue(value: OtlpPrimitive): string | number | boolean {
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  return value.doubleValue;
}

function attributeValue(value: OtlpValue): AttributeValue {
  if (!('arrayValue' in value)) return primitiveValue(value);
  // The API's arrays hold one type; a browser SDK sends nothing else.
  return value.arrayValue.values.map(primitiveValue);
}

const attributes = (list: { key: string; value: OtlpValue }[]): Attributes =>
  Object.fromEntries(list.map(({ key, value }) => [key, attributeValue(value)]));

const hrTime = (nanos: string | number): HrTime => {
  const total = BigInt(nanos);
  return [Number(total / 1_000_000_000n), Number(total % 1_000_000_000n)];
};

const KINDS = [
  SpanKind.INTERNAL,
  SpanKind.INTERNAL,
  SpanKind.SERVER,
  SpanKind.CLIENT,
  SpanKind.PRODUCER,
  SpanKind.CONSUMER,
];
const STATUSES = [SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.ERROR];

function readableSpan(
  otlp: OtlpSpan,
  resource: ReadableSpan['resource'],
  scope: ReadableSpan['instrumentationScope'],
): ReadableSpan {
  const startTime = hrTime(otlp.startTimeUnixNano);
  const endTime = hrTime(otlp.endTimeUnixNano);
  const durationNanos = BigInt(otlp.endTimeUnixNano) - BigInt(otlp.startTimeUnixNano);
  const spanContext = { traceId: otlp.traceId, spanId: otlp.spanId, traceFlags: TraceFlags.SAMPLED };
  const links: Link[] = otlp.links.map((link) => ({
    context: { traceId: link.traceId, spanId: link.spanId, traceFlags: TraceFlags.SAMPLED },
    attributes: attributes(link.attributes),
  }));
  return {
    name: otlp.name,
    kind: KINDS[otlp.kind],
    spanContext: () => spanContext,
    ...(otlp.parentSpanId
      ? { parentSpanContext: { traceId: otlp.traceId, spanId: otlp.parentSpanId, traceFlags: TraceFlags.SAMPLED } }
      : {}),
    startTime,
    endTime,
    duration: [Number(durationNanos / 1_000_000_000n), Number(durationNanos % 1_000_000_000n)],
    status: {
      code: STATUSES[otlp.status.code],
      ...(otlp.status.message ? { message: otlp.status.message } : {}),
    },
    attributes: attributes(otlp.attributes),
    links,
    events: otlp.events.map((event) => ({
      name: event.name,
      time: hrTime(event.timeUnixNano),
      attributes: attributes(event.attributes),
    })),
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: otlp.droppedAttributesCount,
    droppedEventsCount: otlp.droppedEventsCount,
    droppedLinksCount: otlp.droppedLinksCount,
  };
}

/**
 * The spans of an export request, each with the storefront's resource. A resource naming another service, or
 * carrying attributes a browser has no business setting, is refused: the browser cannot speak for a server.
 */
export function browserSpans(body: unknown): ReadableSpan[] {
  const parsed = exportRequest.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(400, 'Invalid OTLP export request', {
      detail: 'send an OTLP/JSON ExportTraceServiceRequest, as the browser SDK does',
      errors: fieldProblems(parsed.error),
    });
  }
  return parsed.data.resourceSpans.flatMap(({ resource, scopeSpans }, index) => {
    const given = attributes(resource.attributes);
    const refused = Object.keys(given).filter((key) => !BROWSER_RESOURCE_ATTRIBUTE.test(key));
    if (given['service.name'] !== undefined && given['service.name'] !== BROWSER_SERVICE) refused.push('service.name');
    if (refused.length > 0) {
      throw new HttpError(422, 'Resource refused', {
        detail: `this endpoint takes the ${BROWSER_SERVICE}'s spans only, described by the browser's attributes`,
        errors: refused.map((key) => ({
          field: `resourceSpans.${index}.resource.attributes.${key}`,
          reason: 'not allowed',
        })),
      });
    }
    const own = resourceFromAttributes({ ...given, 'service.name': BROWSER_SERVICE });
    return scopeSpans.flatMap(({ scope, spans }) =>
      spans.map((otlp) => readableSpan(otlp, own, { name: scope?.name ?? BROWSER_SERVICE, version: scope?.version })),
    );
  });
}

// ---- The endpoint --------------------------------------------------------------------------------------------------

export interface BrowserSpansOptions {
  /** BROWSER_SPANS_MAX_BYTES: the largest export request taken; a larger one is answered 413. */
  maxBytes: number;
  /** BROWSER_SPANS_PER_MINUTE: export requests taken from one client address a minute; more are answered 429. */
  perMinute: number;
  /** Where the spans go; by default the OTLP exporter every service uses, configured by OTEL_EXPORTER_OTLP_*. */
  exporter?: SpanExporter;
}

/**
 * `POST /v1/traces`: the storefront page's spans (OTLP/HTTP, JSON), checked and sent on to the trace backend as
 * the service `storefront`. The browser cannot reach the backend itself, and should not: this is the one door.
 */
export function browserSpansRoutes({
  maxBytes,
  perMinute,
  exporter = new OTLPTraceExporter(),
}: BrowserSpansOptions): Router {
  const routes = Router();
  routes.post(
    '/v1/traces',
    limitRate(perMinute),
    (req, _res, next) => {
      if (!req.is('application/json')) {
        throw new HttpError(415, 'Unsupported media type', {
          detail: 'send the spans as OTLP/JSON (application/json)',
        });
      }
      next();
    },
    express.json({ limit: maxBytes, strict: true, type: 'application/json' }),
    async (req, res) => {
      const spans = browserSpans(req.body);
      const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
      if (result.code !== ExportResultCode.SUCCESS) {
        throw new HttpError(503, 'Trace backend unavailable', {
          detail: result.error?.message ?? 'the spans could not be sent on',
          headers: { 'Retry-After': '5' },
          errorType: 'trace_export_failed',
        });
      }
      // OTLP/HTTP's ExportTraceServiceResponse: every span accepted.
      res.json({});
    },
  );
  return routes;
}

/** The most client addresses counted in one minute; past it, new ones wait for the next minute. */
const MAX_CLIENTS = 10_000;

/**
 * At most `perMinute` requests a minute from each client address, counted in fixed one-minute windows. Behind a
 * proxy or gateway every browser shares its address, and so its budget.
 */
function limitRate(perMinute: number): RequestHandler {
  let counts = new Map<string, number>();
  setInterval(() => (counts = new Map()), 60_000).unref();
  return (req, _res, next) => {
    const client = req.ip ?? 'unknown';
    const count = (counts.get(client) ?? 0) + 1;
    if (count > perMinute || (count === 1 && counts.size >= MAX_CLIENTS)) {
      throw new HttpError(429, 'Too many export requests', {
        detail: `at most ${perMinute} span exports a minute from one client`,
        headers: { 'Retry-After': '60' },
      });
    }
    counts.set(client, count);
    next();
  };
}
