/** The events module's face: the change feed (and, with issue 14, webhooks) over the event outbox. */
export { EventSchema, toEvent } from './event-payload.js';
export { feedRoutes } from './feed.routes.js';
export { createFeedService, type FeedService } from './feed.service.js';
