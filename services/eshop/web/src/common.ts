// What both pages share: JSON requests (each traced by the fetch instrumentation, see tracing.ts), and a few
// formatting helpers.

/** An answer of 400 or more, as its problem+json body tells it. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: { field: string; reason: string }[] = [],
  ) {
    super(`${title}: ${detail}`);
  }
}

export async function requestJson<T>(
  path: string,
  { method = 'GET', body, headers = {} }: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const problem = (answer ?? {}) as Partial<Problem>;
    throw new Problem(
      response.status,
      problem.title ?? `HTTP ${response.status}`,
      problem.detail ?? response.statusText,
      problem.errors,
    );
  }
  return answer as T;
}

/**
 * An element with its text or children. No `style` attribute: the CSP refuses those; set `node.style`'s properties,
 * which it allows.
 */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Shows a problem (title, detail and each bad field) in `where`, or hides `where` when there is none. */
export function showProblem(where: HTMLElement, problem: unknown): void {
  if (problem === undefined) {
    where.hidden = true;
    where.replaceChildren();
    return;
  }
  const { title, detail, errors } =
    problem instanceof Problem
      ? problem
      : {
          title: 'Request failed',
          detail: problem instanceof Error ? problem.message : 'unexpected error',
          errors: [],
        };
  where.replaceChildren(
    element('strong', {}, title),
    element('p', {}, detail),
    ...(errors.length > 0
      ? [element('ul', {}, ...errors.map(({ field, reason }) => element('li', {}, `${field}: ${reason}`)))]
      : []),
  );
  where.hidden = false;
}

export const money = (amount: number, currency: string) =>
  new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount);

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}
