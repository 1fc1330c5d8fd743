import { createJsonClient } from '@eshop/http';
import type { SendEmailRequest, SentEmail } from './api';

export type { SendEmailRequest, SentEmail } from './api';

export function createNotificationClient(baseUrl: string) {
  const http = createJsonClient('notification', baseUrl);
  return {
    sendEmail: (request: SendEmailRequest) => http.post<SentEmail>('/sendEmail', request),
    emails: ({ orderId, limit = 100 }: { orderId?: string; limit?: number } = {}) =>
      http.get<SentEmail[]>(
        `/emails?${new URLSearchParams({ limit: String(limit), ...(orderId ? { orderId } : {}) }).toString()}`,
      ),
  };
}

export type NotificationClient = ReturnType<typeof createNotificationClient>;
