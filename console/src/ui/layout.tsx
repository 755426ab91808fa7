import {
  ActionIcon,
  Anchor,
  AppShell,
  Burger,
  Group,
  Menu,
  NavLink,
  ScrollArea,
  Text,
  Title,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, Outlet, useLocation, useMatch, useNavigate } from 'react-router';
import { type Area, canSee, picksTenant } from '../auth/access';
import { signOut, useSession } from '../auth/session';
import { texts } from '../texts';
import { useCurrentTenant } from './tenant-context';
import { TenantPicker } from './tenant-picker';

interface NavItem {
  area: Area;
  label: string;
  to: string;
}

/** The signed-in frame: header (tenant, theme, account), navigation by role, and the screen. */
export function Layout() {
  const session = useSession();
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const navigate = useNavigate();
  const tenantId = useCurrentTenant();
  const { setColorScheme } = useMantineColorScheme();
  const scheme = useComputedColorScheme('light');
  const onTenantPage = useMatch('/tenants/:tenantId/*');

  const global: NavItem[] = [
    { area: 'overview', label: texts.nav.overview, to: '/' },
    { area: 'partners', label: texts.nav.partners, to: '/partners' },
    { area: 'tenants', label: texts.nav.tenants, to: '/tenants' },
    { area: 'applications', label: texts.nav.applications, to: '/applications' },
    { area: 'adminRoles', label: texts.nav.adminRoles, to: '/admin-roles' },
    { area: 'identityProviders', label: texts.nav.identityProviders, to: '/identity-providers' },
    { area: 'sessions', label: texts.nav.sessions, to: '/sessions' },
    { area: 'webhooks', label: texts.nav.webhooks, to: '/webhooks' },
    { area: 'audit', label: texts.nav.audit, to: '/audit' },
  ];
  const tenant: NavItem[] = tenantId
    ? [
        { area: 'overview', label: texts.nav.settings, to: `/tenants/${tenantId}` },
        { area: 'users', label: texts.nav.users, to: `/tenants/${tenantId}/users` },
        { area: 'groups', label: texts.nav.groups, to: `/tenants/${tenantId}/groups` },
        { area: 'ous', label: texts.nav.ous, to: `/tenants/${tenantId}/ous` },
      ]
    : [];
  const active = (to: string) =>
    to === '/'
      ? location.pathname === '/'
      : location.pathname === to || location.pathname.startsWith(`${to}/`);
  const link = (item: NavItem, exact = false) =>
    canSee(session, item.area) ? (
      <NavLink
        key={item.to}
        component={Link}
        to={item.to}
        label={item.label}
        // Filled: white on the primary colour meets AA, the light variant does not.
        variant="filled"
        active={exact ? location.pathname === item.to : active(item.to)}
        onClick={close}
      />
    ) : null;

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 240, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <Anchor href="#main" className="skip-link">
        {texts.app.skipToContent}
      </Anchor>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group wrap="nowrap" gap="sm">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label={texts.app.toggleNavigation}
            />
            <Text fw={700} component={Link} to="/">
              {texts.app.name}
            </Text>
          </Group>
          <Group wrap="nowrap" gap="sm">
            {picksTenant(session) ? (
              <TenantPicker
                value={tenantId}
                onChange={(id) => {
                  // Stay in the same section (users, groups, …) of the other tenant.
                  const section = onTenantPage?.params['*']?.split('/')[0];
                  navigate(section ? `/tenants/${id}/${section}` : `/tenants/${id}`);
                }}
              />
            ) : null}
            <ActionIcon
              variant="default"
              size="lg"
              aria-label={texts.app.colorScheme}
              onClick={() => setColorScheme(scheme === 'dark' ? 'light' : 'dark')}
            >
              <span aria-hidden="true">{scheme === 'dark' ? '☀' : '☾'}</span>
            </ActionIcon>
            <Menu position="bottom-end">
              <Menu.Target>
                <UnstyledButton maw={{ base: 140, sm: 260 }}>
                  <Text size="sm" truncate>
                    {session.name ?? session.email ?? session.userId}
                  </Text>
                  <Text size="xs" c="dimmed" visibleFrom="sm">
                    {session.role ? texts.app.roles[session.role] : ''}
                  </Text>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>{session.email ?? session.userId}</Menu.Label>
                <Menu.Item onClick={() => void signOut()}>{texts.app.signOut}</Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label={texts.app.name}>
        <ScrollArea>
          {global.map((item) => link(item))}
          {tenant.length > 0 ? (
            <>
              <Title order={2} size="xs" c="dimmed" tt="uppercase" mt="md" mb={4} px="sm">
                {texts.nav.tenant}
              </Title>
              {tenant.map((item, index) => link(item, index === 0))}
            </>
          ) : null}
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
