// The page's one script: its tracing first, so that every request it makes is traced; then the view its address
// asks for.
import './tracing.js';
import { showOrder } from './order.js';
import { showStorefront } from './storefront.js';

const orderPath = /^\/orders\/([^/]+)$/.exec(window.location.pathname);
if (orderPath) showOrder(decodeURIComponent(orderPath[1]));
else showStorefront();
