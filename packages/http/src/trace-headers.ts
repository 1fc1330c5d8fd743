import type { IncomingHttpHeaders } from 'node:http';
import { trace } from '@opentelemetry/api';
import { logger } from '@eshop/logger';
import type { RequestHandler } from 'express';

export interface IgnoredHeader {
  header: string;
  reason: string;
}

// The limits the W3C specifications set and OpenTelemetry's propagators enforce by dropping what is past them.
const TRACESTATE_MAX_LENGTH = 512;
const TRACESTATE_MAX_MEMBERS = 32;
const BAGGAGE_MAX_LENGTH = 8192;
const BAGGAGE_MAX_ENTRIES = 180;

const TRACEPARENT = /^\s?([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(-.*)?\s?$/;
const B3_TRACE_ID = /^([\da-f]{16}|[\da-f]{32})$/;
const B3_SPAN_ID = /^[\da-f]{16}$/;
const ALL_ZEROS = /^0+$/;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** Why a `traceparent` is not one (the propagator then ignores it), or undefined for a valid one. */
function traceparentProblem(value: string): string | undefined {
  const match = TRACEPARENT.exec(value);
  if (!match) return 'not version-traceid-parentid-flags in lowercase hex of 2, 32, 16 and 2 digits';
  const [, version, traceId, spanId, , rest] = match;
  if (version === 'ff') return 'version ff is forbidden';
  if (version === '00' && rest) return 'version 00 has nothing after the flags';
  if (ALL_ZEROS.test(traceId)) return 'the trace id is all zeros';
  if (ALL_ZEROS.test(spanId)) return 'the parent id is all zeros';
  return undefined;
}

function b3Problem(traceId: string | undefined, spanId: string | undefined): string | undefined {
  if (traceId === undefined || spanId === undefined) return 'x-b3-traceid and x-b3-spanid come together or not at all';
  if (!B3_TRACE_ID.test(traceId)) return 'the trace id is not 16 or 32 lowercase hex digits';
  if (!B3_SPAN_ID.test(spanId)) return 'the span id is not 16 lowercase hex digits';
  if (ALL_ZEROS.test(traceId)) return 'the trace id is all zeros';
  if (ALL_ZEROS.test(spanId)) return 'the span id is all zeros';
  return undefined;
}

export interface TraceHeaderReport {
  /** The headers the propagators ignore, in whole or in part, and why. */
  ignored: IgnoredHeader[];
  /** True when no header named a usable parent, or the request's trace is none that a header named. */
  freshTrace: boolean;
}

/**
 * Judges a request's trace headers as the propagators do, from the headers and from `activeTraceId`, the trace
 * the request ended up in (when known). Only looks: the propagators decide.
 */
export function inspectTraceHeaders(headers: IncomingHttpHeaders, activeTraceId?: string): TraceHeaderReport {
  const ignored: IgnoredHeader[] = [];
  const candidates: { header: string; traceId: string }[] = [];

  const traceparent = single(headers.traceparent);
  if (traceparent !== undefined) {
    const problem = traceparentProblem(traceparent);
    if (problem) ignored.push({ header: 'traceparent', reason: problem });
    else candidates.push({ header: 'traceparent', traceId: TRACEPARENT.exec(traceparent)![2] });
  }
  const tracestate = single(headers.tracestate);
  if (tracestate !== undefined) {
    const members = tracestate.split(',').filter((member) => member.trim()).length;
    if (traceparent === undefined || candidates.length === 0) {
      ignored.push({ header: 'tracestate', reason: 'there is no valid traceparent for it to go with' });
    } else if (tracestate.length > TRACESTATE_MAX_LENGTH || members > TRACESTATE_MAX_MEMBERS) {
      ignored.push({
        header: 'tracestate',
        reason: `over ${TRACESTATE_MAX_LENGTH} characters or ${TRACESTATE_MAX_MEMBERS} members: the members past the limit are dropped`,
      });
    }
  }
  const baggage = single(headers.baggage);
  if (
    baggage !== undefined &&
    (baggage.length > BAGGAGE_MAX_LENGTH || baggage.split(',').length > BAGGAGE_MAX_ENTRIES)
  ) {
    ignored.push({
      header: 'baggage',
      reason: `over ${BAGGAGE_MAX_LENGTH} characters or ${BAGGAGE_MAX_ENTRIES} entries: the entries past the limit are dropped`,
    });
  }
  const b3TraceId = single(headers['x-b3-traceid']);
  const b3SpanId = single(headers['x-b3-spanid']);
  if (b3TraceId !== undefined || b3SpanId !== undefined) {
    const problem = b3Problem(b3TraceId, b3SpanId);
    if (problem) ignored.push({ header: 'x-b3-traceid', reason: problem });
    else candidates.push({ header: 'x-b3-traceid', traceId: b3TraceId!.padStart(32, '0') });
  }
  const b3 = single(headers.b3);
  if (b3 !== undefined && !/^[01d]$/.test(b3)) {
    const [traceId, spanId] = b3.split('-');
    const problem = b3Problem(traceId, spanId);
    if (problem) ignored.push({ header: 'b3', reason: problem });
    else candidates.push({ header: 'b3', traceId: traceId.padStart(32, '0') });
  }

  // Valid headers naming different traces: the last trace propagator configured wins, and the active span, which
  // it started, tells which one that was; the others are ignored.
  const traces = new Set(candidates.map((candidate) => candidate.traceId));
  if (traces.size > 1) {
    const winner =
      candidates.find((candidate) => candidate.traceId === activeTraceId) ??
      candidates.find((candidate) => candidate.header === 'traceparent')!;
    for (const candidate of candidates) {
      if (candidate.traceId !== winner.traceId) {
        ignored.push({ header: candidate.header, reason: `names another trace than ${winner.header}, which wins` });
      }
    }
  }
  const freshTrace =
    candidates.length === 0 ||
    (activeTraceId !== undefined && !candidates.some((candidate) => candidate.traceId === activeTraceId));
  return { ignored, freshTrace };
}

/**
 * Logs a warning when a request's trace headers were ignored, naming each and why, and whether the request
 * therefore runs in a fresh trace rather than the caller's. Never refuses a request for its trace headers.
 */
export const traceHeaderCheck: RequestHandler = (req, _res, next) => {
  const { ignored, freshTrace } = inspectTraceHeaders(req.headers, trace.getActiveSpan()?.spanContext().traceId);
  if (ignored.length > 0) {
    // The reasons only, never the values: they come from outside and may be huge or hostile.
    logger.warn(
      { ignored, fresh_trace: freshTrace, method: req.method, path: req.path },
      freshTrace ? 'ignored trace headers: the request starts a fresh trace' : 'ignored trace headers',
    );
  }
  next();
};
