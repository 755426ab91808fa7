/**
 * The vocabularies of the audit log (docs/api-decisions.md, "Audit log") are the platform's, where
 * the event catalogue is one flag of each action: src/platform/events/catalogue.ts.
 */
export {
  AUDIT_ACTIONS,
  AUDIT_RESOURCE_TYPES,
  type AuditActionInfo,
  type AuditActionKind,
} from '../../platform/events/catalogue.js';
