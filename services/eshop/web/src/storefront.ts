// The storefront, at `/`: the catalog, a quantity per product and an e-mail, posted to /checkout as any client would. A placed
// order opens its page; a refused one shows why, and the form keeps what was typed.
import type { Product, StorefrontConfig } from '../../src/storefront-api';
import { byId, element, money, requestJson, showProblem } from './common.js';

const form = byId<HTMLFormElement>('order-form');
const problem = byId('order-problem');

function renderCatalog(products: Product[]): void {
  byId('catalog')
    .querySelector('tbody')!
    .replaceChildren(
      ...products.map((product) =>
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
              min: '0',
              max: '1000',
              value: '0',
            }),
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

function placeOrder(event: SubmitEvent): void {
  event.preventDefault();
  const items = [...form.querySelectorAll<HTMLInputElement>('input[data-sku]')]
    .filter((input) => input.valueAsNumber > 0)
    .map((input) => ({ sku: input.dataset.sku!, quantity: input.valueAsNumber }));
  const email = byId<HTMLInputElement>('email').value;
  const button = form.querySelector('button')!;
  button.disabled = true;
  requestJson<{ orderId: string }>('/checkout', { method: 'POST', body: { email, items }, headers: faultHeader() })
    .then(({ orderId }) => {
      window.location.assign(`/orders/${orderId}`);
    })
    .catch((error: unknown) => {
      showProblem(problem, error);
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
    })
    .catch((error: unknown) => showProblem(problem, error));
}
