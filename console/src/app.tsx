import { Center, Loader } from '@mantine/core';
import { lazy, Suspense } from 'react';
import { Route, Routes, useLocation } from 'react-router';
import { type Area, canSee } from './auth/access';
import { CallbackScreen, NoRoleScreen, SignInScreen } from './auth/screens';
import { useSession, useSessionState } from './auth/session';
import { Layout } from './ui/layout';
import { NotFound } from './ui/not-found';

// Each area is its own chunk: the first screen loads only the shell and the screen it shows.
const Overview = lazy(() => import('./features/overview'));
const Partners = lazy(() => import('./features/partners'));
const Tenants = lazy(() => import('./features/tenants'));
const Users = lazy(() => import('./features/users'));
const Groups = lazy(() => import('./features/groups'));
const Ous = lazy(() => import('./features/ous'));
const Applications = lazy(() => import('./features/applications'));
const AdminRoles = lazy(() => import('./features/admin-roles'));
const Audit = lazy(() => import('./features/audit'));
const Webhooks = lazy(() => import('./features/webhooks'));
const IdentityProviders = lazy(() => import('./features/identity-providers'));
const Sessions = lazy(() => import('./features/sessions'));

export function Loading() {
  return (
    <Center p="xl">
      <Loader role="progressbar" aria-label="Loading" />
    </Center>
  );
}

/** A screen the person's role cannot use answers as a page that does not exist (as the API does). */
function Only({ area, children }: { area: Area; children: React.ReactNode }) {
  return canSee(useSession(), area) ? children : <NotFound />;
}

function SignedIn() {
  return (
    <Suspense fallback={<Loading />}>
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<Overview />} />
          <Route
            path="partners/*"
            element={
              <Only area="partners">
                <Partners />
              </Only>
            }
          />
          <Route path="tenants/*" element={<Tenants />} />
          <Route
            path="tenants/:tenantId/users/*"
            element={
              <Only area="users">
                <Users />
              </Only>
            }
          />
          <Route
            path="tenants/:tenantId/groups/*"
            element={
              <Only area="groups">
                <Groups />
              </Only>
            }
          />
          <Route
            path="tenants/:tenantId/ous/*"
            element={
              <Only area="ous">
                <Ous />
              </Only>
            }
          />
          <Route
            path="applications/*"
            element={
              <Only area="applications">
                <Applications />
              </Only>
            }
          />
          <Route
            path="admin-roles/*"
            element={
              <Only area="adminRoles">
                <AdminRoles />
              </Only>
            }
          />
          <Route
            path="audit/*"
            element={
              <Only area="audit">
                <Audit />
              </Only>
            }
          />
          <Route
            path="webhooks/*"
            element={
              <Only area="webhooks">
                <Webhooks />
              </Only>
            }
          />
          <Route
            path="identity-providers/*"
            element={
              <Only area="identityProviders">
                <IdentityProviders />
              </Only>
            }
          />
          <Route
            path="sessions/*"
            element={
              <Only area="sessions">
                <Sessions />
              </Only>
            }
          />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </Suspense>
  );
}

export function App() {
  const state = useSessionState();
  const location = useLocation();
  if (location.pathname === '/callback') return <CallbackScreen />;
  if (state.status === 'signed-in') return state.session.role ? <SignedIn /> : <NoRoleScreen />;
  return <SignInScreen failure={state.status === 'failed' ? state.message : null} />;
}
