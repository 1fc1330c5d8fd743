// The storefront, at `/`: the catalog, a quantity per product and an e-mail, posted to /checkout as any client would. A placed
// order opens its page; a refused one says why next to the field it is about, and the form keeps what was typed.
import type { Product, StorefrontConfig } from '../../src/storefront-api';
import { byId, element, money, Problem, requestJson, showProblem } from './common.js';
import { saveCheckoutTiming } from './timing.js';
import { flushSpans, now, traceInteraction } from './tracing.js';

const form = byId<HTMLFormElement>('order-form');
const problem = byId('order-problem');

/** The catalog, ready to order: one unit of the first product, none of the others. */
function renderCatalog(products: Product[]): void {
  byId('catalog')
    .querySelector('tbody')!
    .replaceChildren(
      ...products.map((product, index) =>
        element(
          'tr',
          {},
          element('th', { scope: 'row' }, product.name),
          element('td', {}, element('code', {}, product.sku)),
          element('td', {}, money(product.unitPrice, product.currency)),
          element('td', {}, String(product.inStock)),
          element(
            'td',
            {},
            element('input', {
              type: 'number',
              name: `quantity-${product.sku}`,
              'data-sku': product.sku,
              'aria-label': `Quantity of ${product.name}`,
              'aria-describedby': `problem-${product.sku}`,
              min: '0',
              max: '1000',
              value: index === 0 ? '1' : '0',
            }),
            element('small', { id: `problem-${product.sku}`, class: 'field-problem', hidden: '' }),
          ),
        ),
      ),
    );
}

function renderFaults(faults: NonNullable<StorefrontConfig['faults']>): void {
  const fieldset = byId('faults');
  for (const fault of faults) {
    const unit = fault.unit === 'percent' ? '% of requests' : 'ms';
    fieldset.append(
      element(
        'p',
        {},
        element(
          'label',
          {},
          element('input', { type: 'checkbox', name: 'fault', value: fault.name }),
          ` ${fault.name} `,
          element('small', {}, `(${fault.service}: ${fault.what})`),
        ),
        ' ',
        element(
          'label',
          {},
          element('input', {
            type: 'number',
            name: `setting-${fault.name}`,
            min: '0',
            max: fault.unit === 'percent' ? '100' : '60000',
            value: String(fault.perRequest),
          }),
          ` ${unit}`,
        ),
      ),
    );
  }
  fieldset.hidden = false;
}

/** The faults ticked, as `x-fault` lists them: `payment-declined=100,delivery-slow=2000`. */
function faultHeader(): Record<string, string> {
  const ticked = [...form.querySelectorAll<HTMLInputElement>('input[name="fault"]:checked')].map((box) => {
    const setting = form.querySelector<HTMLInputElement>(`input[name="setting-${box.value}"]`)?.value ?? '';
    return setting === '' ? box.value : `${box.value}=${setting}`;
  });
  return ticked.length > 0 ? { 'x-fault': ticked.join(',') } : {};
}

/** A refusal's reason, in the shopper's words, and the field it is about: `email`, `items` or a product's SKU. */
function shopperWords(status: number, { field, reason }: { field: string; reason: string }, skus: string[]) {
  if (field === 'email') return { field, words: 'Enter your e-mail address, like name@example.com.' };
  const line = /^items\.(\d+)\.(\w+)$/.exec(field);
  if (line) {
    const sku = skus[Number(line[1])];
    if (line[2] === 'quantity') return { field: sku, words: 'Choose from 1 to 1000.' };
    return { field: sku, words: 'This product is no longer sold.' };
  }
  // Inventory names a short product in its reason: `SKU-1: only 3 in stock`.
  const short = /^([^:]+): only (\d+) in stock$/.exec(reason);
  if (status === 409 && short && skus.includes(short[1])) {
    return { field: short[1], words: `Only ${short[2]} left in stock.` };
  }
  if (status === 400 && field === 'items') return { field, words: 'Choose at least one product.' };
  return undefined;
}

/** Shows each of a refusal's reasons next to its field; any it cannot place, and any other failure, above the button. */
function showRefusal(error: unknown, skus: string[]): void {
  for (const old of form.querySelectorAll<HTMLElement>('.field-problem')) {
    old.hidden = true;
    old.textContent = '';
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const placed = error instanceof Problem ? error.errors.map((reason) => shopperWords(error.status, reason, skus)) : [];
  for (const found of placed) {
    if (!found) continue;
    const where = byId(`problem-${found.field}`);
    where.textContent = found.words;
    where.hidden = false;
    form.querySelector(`[aria-describedby="problem-${found.field}"]`)?.setAttribute('aria-invalid', 'true');
  }
  if (error instanceof Problem && placed.length > 0 && placed.every(Boolean)) {
    showProblem(
      problem,
      new Problem(
        error.status,
        'Your order was not placed',
        'See the notes in red, next to the fields they are about.',
      ),
    );
  } else {
    showProblem(problem, error);
  }
}

function placeOrder(event: SubmitEvent): void {
  event.preventDefault();
  const quantities = [...form.querySelectorAll<HTMLInputElement>('input[data-sku]')];
  const skus = quantities.map((input) => input.dataset.sku!);
  const items = quantities
    .filter((input) => input.valueAsNumber > 0)
    .map((input) => ({ sku: input.dataset.sku!, quantity: input.valueAsNumber }));
  const email = byId<HTMLInputElement>('email').value;
  const button = form.querySelector('button')!;
  button.disabled = true;
  const clickedAt = now();
  // One key per submission: should the request be sent again, eshop places the order once.
  const headers = { 'Idempotency-Key': crypto.randomUUID(), ...faultHeader() };
  // The click is the root of the checkout's trace: /checkout's fetch is its child, eshop's server span the fetch's.
  traceInteraction('click Place order', 'button#place-order', () =>
    requestJson<{ orderId: string }>('/checkout', { method: 'POST', body: { email, items }, headers }),
  )
    .then(async ({ orderId }) => {
      saveCheckoutTiming(orderId, { clickedAt, answeredAt: now() });
      await flushSpans();
      window.location.assign(`/orders/${orderId}`);
    })
    .catch((error: unknown) => {
      showRefusal(error, skus);
      button.disabled = false;
    });
}

export function showStorefront(): void {
  byId('storefront').hidden = false;
  form.addEventListener('submit', placeOrder);

  Promise.all([requestJson<StorefrontConfig>('/api/config'), requestJson<Product[]>('/api/catalog')])
    .then(([config, products]) => {
      renderCatalog(products);
      if (config.faults) renderFaults(config.faults);
      // Only now is there something to order: a click before would send no items.
      form.querySelector('button')!.disabled = false;
    })
    .catch((error: unknown) => showProblem(problem, error));
}
