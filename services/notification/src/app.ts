import { trace } from '@opentelemetry/api';
import { createServiceApp, fieldProblems, HttpError, validateBody } from '@eshop/http';
import { logger } from '@eshop/logger';
import { Router } from 'express';
import { listEmailsQuerySchema, sendEmailRequestSchema, type SendEmailRequest } from './api';
import type { Mailbox } from './mailbox';

export function createApp(mailbox: Mailbox) {
  const routes = Router();
  routes.post('/sendEmail', validateBody(sendEmailRequestSchema), (req, res) => {
    const request = req.body as SendEmailRequest;
    const span = trace.getActiveSpan();
    const { email, duplicate } = mailbox.send(request, span?.spanContext().traceId ?? '');
    span?.setAttribute('eshop.email.duplicate', duplicate);
    // The order id only: the address and the body are personal data and stay out of logs and spans.
    logger.info(
      { orderId: email.orderId, emailId: email.emailId, duplicate },
      duplicate ? 'e-mail already sent' : 'e-mail sent',
    );
    res.status(duplicate ? 200 : 201).json(email);
  });
  routes.get('/emails', (req, res) => {
    const query = listEmailsQuerySchema.safeParse(req.query);
    if (!query.success)
      throw new HttpError(400, 'Invalid query', {
        detail: 'the query string is not valid',
        errors: fieldProblems(query.error),
      });
    res.json(mailbox.list(query.data.limit, query.data.orderId));
  });
  return createServiceApp({ routes });
}
