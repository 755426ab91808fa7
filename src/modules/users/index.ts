/** The users module's face: what other modules, protocols and the composition root may use. */
export { adminUsersRoutes } from './admin-users.routes.js';
export { listUsersInOu, type OuIds } from './ou-members.js';
export { passwordChange } from './passwords.js';
export { ownProfile } from './profile.js';
export { toUserListItem } from './user-list-item.js';
export { usersRoutes } from './users.routes.js';
export { UserListItem, UserResponse } from './users.schemas.js';
export { createUsersService } from './users.service.js';
