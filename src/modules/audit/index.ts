/** The audit module's face: the read-only audit log API and its retention purge (issue 14). */

export { auditRoutes } from './audit.routes.js';
export { createAuditService } from './audit.service.js';
export { auditRetentionTask } from './audit-retention.js';
