/** The events module's face: the change feed (and, with issue 14, webhooks) over the event outbox. */

export { WebhookDispatcher } from './delivery.js';
export { deleteDeliveriesBefore } from './delivery.repository.js';
export { addWebhooksToDocument } from './event-data-schemas.js';
export { EventSchema, toEvent } from './event-payload.js';
export { feedRoutes } from './feed.routes.js';
export { createFeedService, type FeedService } from './feed.service.js';
export { webhooksRoutes } from './webhooks.routes.js';
export { createWebhooksService, type WebhooksService } from './webhooks.service.js';
