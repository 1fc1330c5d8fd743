// The page's one script: the view its address asks for.
import { showOrder } from './order.js';
import { showStorefront } from './storefront.js';

const orderPath = /^\/orders\/([^/]+)$/.exec(window.location.pathname);
if (orderPath) showOrder(decodeURIComponent(orderPath[1]));
else showStorefront();
