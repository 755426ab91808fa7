/** The groups module's face: what other modules, protocols and the composition root may use. */
export { adminGroupsRoutes } from './admin-groups.routes.js';
export {
  createDirectoryGroupsRepository,
  type DirectoryGroupsRepository,
  type MirroredGroupRow,
  type MirroredGroupWrite,
  type Pair,
} from './directory-groups.repository.js';
export { groupsByName, syncMappedMemberships } from './federated-groups.js';
export {
  type ClosureDrift,
  type CountDrift,
  groupClosureDrift,
  groupCountDrift,
  rebuildGroupClosure,
} from './group-closure.repository.js';
export {
  type UserGroupMembershipRow,
  userGroupMemberships,
  usersInGroupSubquery,
} from './group-memberships.js';
export { groupsRoutes } from './groups.routes.js';
export { createGroupsService } from './groups.service.js';
export { addUserToGroups, lockGroupGraph, removeUserFromGroups } from './user-memberships.js';
