import { setTimeout as sleep } from 'node:timers/promises';
import { context, propagation, trace, type Context } from '@opentelemetry/api';
import { z } from 'zod';

/** The request header that asks for faults, honoured only where `FAULT_INJECTION_HEADER=enabled`. */
export const FAULT_HEADER = 'x-fault';
/**
 * The faults a request asked for: eshop turns the header into this baggage entry, which travels with every call
 * and with the Kafka message, and lands as an attribute on every span it reaches.
 */
export const FAULT_REQUEST_KEY = 'eshop.fault.requested';
/** On a span where a fault struck: the fault's name, where its setting came from, and the setting. */
export const FAULT_ATTRIBUTE = 'eshop.fault';
export const FAULT_SOURCE_ATTRIBUTE = 'eshop.fault.source';
export const FAULT_SETTING_ATTRIBUTE = 'eshop.fault.setting';

export type FaultUnit = 'percent' | 'ms';

export interface FaultDefinition {
  /** The service that plays the fault. */
  service: string;
  /** A percentage of requests that fail, or a delay in milliseconds. */
  unit: FaultUnit;
  /** The variable that sets it at start; 0, the default, is off. */
  env: string;
  /** The setting when `x-fault` names the fault without one. */
  perRequest: number;
  what: string;
}

/** Every fault of the demo. The names are the vocabulary of `x-fault`, and of the `eshop.fault` span attribute. */
export const FAULTS = {
  'out-of-stock': {
    service: 'inventory',
    unit: 'percent',
    env: 'FAULT_OUT_OF_STOCK_PERCENT',
    perRequest: 100,
    what: 'inventory refuses the reservation as out of stock (409)',
  },
  'payment-declined': {
    service: 'billing',
    unit: 'percent',
    env: 'FAULT_PAYMENT_DECLINE_PERCENT',
    perRequest: 100,
    what: 'billing declines the payment (402)',
  },
  'delivery-slow': {
    service: 'delivery',
    unit: 'ms',
    env: 'FAULT_DELIVERY_LATENCY_MS',
    perRequest: 2000,
    what: 'delivery waits this long before it answers',
  },
  'email-fails': {
    service: 'notification',
    unit: 'percent',
    env: 'FAULT_EMAIL_FAILURE_PERCENT',
    perRequest: 100,
    what: 'notification fails to send the e-mail (503), so the consumer retries',
  },
  'consumer-slow': {
    service: 'kafka-consumer',
    unit: 'ms',
    env: 'FAULT_CONSUMER_DELAY_MS',
    perRequest: 2000,
    what: 'kafka-consumer waits this long before it handles each message',
  },
} as const satisfies Record<string, FaultDefinition>;

export type FaultName = keyof typeof FAULTS;
export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

/** The variable that lets a request ask for faults itself. */
export const FAULT_INJECTION_HEADER_ENV = 'FAULT_INJECTION_HEADER';

const MAX_DELAY_MS = 60_000;

function settingSchema(name: FaultName) {
  return z
    .number()
    .int()
    .min(0)
    .max(FAULTS[name].unit === 'percent' ? 100 : MAX_DELAY_MS);
}

/** A fault's variable in a service's env schema: a percentage or a delay, 0 (off) unless set. */
export const faultEnv = (name: FaultName) => z.coerce.number().pipe(settingSchema(name)).default(0);

/** `FAULT_INJECTION_HEADER` in a service's env schema: off unless set to `enabled`. */
export const faultInjectionHeaderEnv = () => z.enum(['disabled', 'enabled']).default('disabled');

/** What one request asks for: a setting per fault. */
export type FaultRequest = Partial<Record<FaultName, number>>;

const wholeNumber = z
  .string()
  .regex(/^\d{1,6}$/, 'expected a whole number')
  .transform(Number);
const faultRequestSchema = z.strictObject(
  Object.fromEntries(FAULT_NAMES.map((name) => [name, wholeNumber.pipe(settingSchema(name)).optional()])),
) as unknown as z.ZodType<FaultRequest, Record<string, string>>;

/** `x-fault` as the names and settings it lists; a name without a setting gets the fault's `perRequest`. */
function entries(value: string): Record<string, string> {
  const named: Record<string, string> = {};
  for (const entry of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const equals = entry.indexOf('=');
    const name = (equals === -1 ? entry : entry.slice(0, equals)).trim();
    const definition = (FAULTS as Record<string, FaultDefinition>)[name];
    named[name] = equals === -1 ? String(definition?.perRequest ?? '') : entry.slice(equals + 1).trim();
  }
  return named;
}

const faultHeaderSchema = z.string().max(256).transform(entries).pipe(faultRequestSchema);

/**
 * Reads `x-fault` (and the baggage entry made of it): a comma-separated list of fault names, each with an
 * optional setting, e.g. `payment-declined` or `delivery-slow=3000, email-fails=50`.
 */
export function parseFaultRequest(value: string): z.ZodSafeParseResult<FaultRequest> {
  return faultHeaderSchema.safeParse(value);
}

export function formatFaultRequest(request: FaultRequest): string {
  return Object.entries(request)
    .map(([name, setting]) => `${name}=${setting}`)
    .join(',');
}

/** `ctx` carrying `request` as the `eshop.fault.requested` baggage entry, or none when `request` is undefined. */
export function withFaultRequest(ctx: Context, request: FaultRequest | undefined): Context {
  const baggage = propagation.getBaggage(ctx) ?? propagation.createBaggage();
  const next =
    request && Object.keys(request).length > 0
      ? baggage.setEntry(FAULT_REQUEST_KEY, { value: formatFaultRequest(request) })
      : baggage.removeEntry(FAULT_REQUEST_KEY);
  return propagation.setBaggage(ctx, next);
}

/** The faults the active request asked for, read from its baggage; none when the entry is absent or malformed. */
export function requestedFaults(ctx: Context = context.active()): FaultRequest {
  const value = propagation.getBaggage(ctx)?.getEntry(FAULT_REQUEST_KEY)?.value;
  if (!value) return {};
  const parsed = parseFaultRequest(value);
  return parsed.success ? parsed.data : {};
}

export interface FaultSwitchOptions {
  /** The setting at start, from the fault's variable. */
  setting: number;
  /** Whether a request may set it through the `eshop.fault.requested` baggage entry (`FAULT_INJECTION_HEADER=enabled`). */
  perRequest: boolean;
  random?: () => number;
}

export type FaultSource = 'env' | 'header';

/** One service's fault: the setting in force for each request, written on the active span when it strikes. */
export class FaultSwitch {
  private readonly random: () => number;

  constructor(
    readonly name: FaultName,
    private readonly options: FaultSwitchOptions,
  ) {
    this.random = options.random ?? Math.random;
  }

  /** The request's own setting when requests may set it and this one did; otherwise the one from start. */
  level(): { setting: number; source: FaultSource } {
    if (this.options.perRequest) {
      const asked = requestedFaults()[this.name];
      if (asked !== undefined) return { setting: asked, source: 'header' };
    }
    return { setting: this.options.setting, source: 'env' };
  }

  /** For a percentage: whether this request is one of those that fail. */
  strikes(): boolean {
    const { setting, source } = this.level();
    const struck = setting >= 100 || (setting > 0 && this.random() * 100 < setting);
    if (struck) this.record(setting, source);
    return struck;
  }

  /**
   * For a delay: waits it, inside a span named after the fault so that the wait is plain in the trace. `wait`
   * is for a caller that must keep doing something while it waits (kafka-consumer heartbeats).
   */
  async delay(wait: (ms: number) => Promise<unknown> = sleep): Promise<number> {
    const { setting, source } = this.level();
    if (setting <= 0) return 0;
    this.record(setting, source);
    await trace.getTracer('@eshop/faults').startActiveSpan(`fault ${this.name}`, async (span) => {
      span.setAttributes(this.attributes(setting, source));
      try {
        await wait(setting);
      } finally {
        span.end();
      }
    });
    return setting;
  }

  private record(setting: number, source: FaultSource): void {
    trace.getActiveSpan()?.setAttributes(this.attributes(setting, source));
  }

  private attributes(setting: number, source: FaultSource) {
    return { [FAULT_ATTRIBUTE]: this.name, [FAULT_SOURCE_ATTRIBUTE]: source, [FAULT_SETTING_ATTRIBUTE]: setting };
  }
}

/**
 * The switch of fault `name` for a service, from its parsed environment: the fault's variable and
 * `FAULT_INJECTION_HEADER`.
 */
export function faultFromEnv(name: FaultName, env: Record<string, unknown>, random?: () => number): FaultSwitch {
  const setting = env[FAULTS[name].env];
  return new FaultSwitch(name, {
    setting: typeof setting === 'number' ? setting : 0,
    perRequest: env[FAULT_INJECTION_HEADER_ENV] === 'enabled',
    ...(random ? { random } : {}),
  });
}

/** A fault that never strikes, for a service built without one (as in most tests). */
export const noFault = (name: FaultName) => new FaultSwitch(name, { setting: 0, perRequest: false });
