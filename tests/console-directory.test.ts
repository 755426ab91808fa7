import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { hasChromium } from './helpers/browser.js';
import {
  type ConsoleAdmin,
  chooseOption,
  consoleAdmin,
  consoleProblems,
  expectAccessible,
  screenshot,
  signInToConsole,
  useConsole,
} from './helpers/console.js';
import type { LiveApp } from './helpers/test-app.js';

/** The admin API as the super admin of the platform (data the test sets up and checks). */
async function platformApi(app: LiveApp) {
  const token = await app.platformToken();
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
    app.request({ method, url, token, ...(body === undefined ? {} : { body }) });
  return {
    call,
    async created(url: string, body: unknown): Promise<{ id: string }> {
      const response = await call('POST', url, body);
      if (response.status !== 201)
        throw new Error(`${url}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body.data as { id: string };
    },
  };
}

type Api = Awaited<ReturnType<typeof platformApi>>;

const user = (api: Api, tenantId: string, email: string, ouId: string | null = null) =>
  api.created(`/api/v1/tenants/${tenantId}/users`, {
    email,
    display_name: email.split('@')[0],
    send_welcome_email: false,
    ...(ouId ? { ou_id: ouId } : {}),
  });

const ou = (api: Api, tenantId: string, name: string, parentId: string | null = null) =>
  api.created(`/api/v1/tenants/${tenantId}/ous`, { name, parent_id: parentId });

async function ouState(api: Api, tenantId: string, id: string) {
  const response = await api.call('GET', `/api/v1/tenants/${tenantId}/ous/${id}`);
  return response.status === 200 ? (response.body.data as { parent_id: string | null; path: string }) : null;
}

async function userOu(api: Api, tenantId: string, id: string) {
  const response = await api.call('GET', `/api/v1/tenants/${tenantId}/users/${id}`);
  return (response.body.data as { ou_id: string | null }).ou_id;
}

/** Picks an option of a server-searched select (a Mantine Select): types, then clicks the option. */
async function pick(page: Page, label: string, search: string, option: string | RegExp) {
  await chooseOption(page, page.getByRole('combobox', { name: label, exact: true }), search, option);
}

/** Waits until no transition or finite animation runs (a dialog fading in has too little contrast for axe). */
async function settled(page: Page) {
  await page.waitForFunction(() =>
    document
      .getAnimations()
      .every(
        (animation) =>
          animation.playState !== 'running' || animation.effect?.getTiming().iterations === Infinity,
      ),
  );
}

/** expectAccessible once the page is still (and no hover colours a link the pointer rests on). */
async function accessible(page: Page, screen: string) {
  await page.mouse.move(0, 0);
  await settled(page);
  await expectAccessible(page, screen);
}

const groupsUrl = (origin: string, admin: ConsoleAdmin) =>
  `${origin}/console/tenants/${admin.tenant.id}/groups`;

describe.runIf(hasChromium)('console: groups and organizational units', () => {
  const c = useConsole();

  it('a tenant admin builds nested groups, sees inherited members, a refused cycle and an assigned application', {
    timeout: 180_000,
  }, async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const api = await platformApi(c.app);
    const tenantId = admin.tenant.id;
    const member = await user(api, tenantId, `ada-${Date.now()}@acme.example`);
    const memberEmail = (await api.call('GET', `/api/v1/tenants/${tenantId}/users/${member.id}`)).body.data
      .email;
    const application = await api.created('/api/v1/admin/applications/', {
      name: 'Payroll',
      application_type: 'SERVICE',
      scope: 'TENANT',
      tenant_id: tenantId,
    });

    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    await page.getByRole('navigation').getByRole('link', { name: 'Groups', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Groups' }).waitFor();
    await accessible(page, 'groups list');

    // Create both groups in the UI.
    for (const name of ['Engineering', 'Platform team']) {
      await page.getByRole('button', { name: 'Create group' }).click();
      const dialog = page.getByRole('dialog', { name: 'New group' });
      await dialog.getByLabel('Name').fill(name);
      if (name === 'Engineering') await accessible(page, 'create group dialog');
      await dialog.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('heading', { level: 1, name }).waitFor();
      if (name === 'Engineering') await page.getByRole('link', { name: 'All groups' }).click();
    }
    const groups = (await api.call('GET', `/api/v1/tenants/${tenantId}/groups`)).body.data as {
      id: string;
      name: string;
    }[];
    const engineering = groups.find((group) => group.name === 'Engineering');
    const platform = groups.find((group) => group.name === 'Platform team');
    expect(engineering && platform).toBeTruthy();

    // On Platform team: a direct member, then nest it in Engineering.
    await pick(page, 'Add a member', memberEmail, new RegExp(memberEmail.replace(/[.+]/g, '\\$&')));
    await page.getByRole('button', { name: 'Add member' }).click();
    const direct = page.getByRole('table', { name: 'Direct members of the group' });
    await direct.getByRole('link', { name: memberEmail }).waitFor();
    const effectiveHere = page.getByRole('table', { name: 'Effective members of the group' });
    await expect
      .poll(() => effectiveHere.getByRole('row', { name: new RegExp(memberEmail) }).textContent())
      .toContain('DIRECT');

    await pick(page, 'Nest this group in', 'Engin', 'Engineering');
    await page.getByRole('button', { name: 'Nest in group' }).click();
    const parents = page.getByRole('list', { name: 'Parent groups' });
    await parents.getByRole('link', { name: 'Engineering' }).waitFor();
    await accessible(page, 'group detail');
    await screenshot(page, 'group-detail');

    // A cycle: Engineering into Platform team (its child) is refused by the API, shown at the form.
    await pick(page, 'Nest a group in this one', 'Engin', 'Engineering');
    await page.getByRole('button', { name: 'Nest group' }).click();
    await page.getByRole('alert').filter({ hasText: 'GROUP_CYCLE' }).waitFor();
    const children = await api.call('GET', `/api/v1/admin/groups/${platform?.id}/nested-groups`);
    expect(children.body.pagination.total_items).toBe(0);

    // Engineering: the member is inherited through Platform team.
    await parents.getByRole('link', { name: 'Engineering' }).click();
    await page.getByRole('heading', { level: 1, name: 'Engineering' }).waitFor();
    await page
      .getByRole('list', { name: 'Child groups' })
      .getByRole('link', { name: 'Platform team' })
      .waitFor();
    const inherited = page
      .getByRole('table', { name: 'Effective members of the group' })
      .getByRole('row', { name: new RegExp(memberEmail) });
    await expect.poll(() => inherited.textContent()).toContain('INHERITED');
    // No direct member: only the header row.
    expect(
      await page.getByRole('table', { name: 'Direct members of the group' }).getByRole('row').count(),
    ).toBe(1);

    // Assign the application to Engineering.
    await pick(page, 'Assign an application', 'Payroll', 'Payroll');
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page
      .getByRole('table', { name: 'Applications assigned to the group' })
      .getByRole('cell', { name: 'Payroll', exact: true })
      .waitFor();
    const assigned = await api.call(
      'GET',
      `/api/v1/tenants/${tenantId}/groups/${engineering?.id}/applications`,
    );
    expect(assigned.body.data.map((row: { application_id: string }) => row.application_id)).toEqual([
      application.id,
    ]);

    // Edit and delete dialogs.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page
      .getByRole('dialog', { name: 'Edit group' })
      .getByLabel('Description')
      .fill('Everybody who builds');
    await accessible(page, 'edit group dialog');
    await page.getByRole('dialog', { name: 'Edit group' }).getByRole('button', { name: 'Save' }).click();
    await page.getByRole('dialog', { name: 'Edit group' }).waitFor({ state: 'detached' });
    await page.locator('#main').getByText('Everybody who builds').waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    const deleting = page.getByRole('dialog', { name: 'Delete group' });
    await accessible(page, 'delete group dialog');
    await deleting.getByRole('button', { name: 'Delete' }).click();
    await deleting.getByRole('alert').filter({ hasText: 'GROUP_NOT_EMPTY' }).waitFor();
    await deleting.getByRole('button', { name: 'Cancel' }).click();

    // The list finds groups by name (search in the URL).
    await page.goto(`${groupsUrl(c.origin, admin)}?search=platform`);
    const list = page.getByRole('table', { name: 'Groups of the tenant' });
    await list.getByRole('link', { name: 'Platform team' }).waitFor();
    // Nested (not its hierarchy parent): Platform team stays a top-level group in the list.
    await list.getByText('Top level').waitFor();
    expect(await list.getByRole('row').count()).toBe(2);
    await screenshot(page, 'groups');
    expect(consoleProblems(page)).toEqual([]);
  });

  it('a tenant admin moves OUs by drag and drop and by keyboard, and deletes with each strategy after a preview', {
    timeout: 180_000,
  }, async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const api = await platformApi(c.app);
    const tenantId = admin.tenant.id;
    const engineering = await ou(api, tenantId, 'Engineering');
    const support = await ou(api, tenantId, 'Support');

    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    await page
      .getByRole('navigation')
      .getByRole('link', { name: 'Organizational units', exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Organizational units' }).waitFor();
    const tree = page.getByRole('list', { name: 'Organizational unit tree' });
    const node = (name: string) => tree.getByRole('button', { name, exact: true });

    // A top-level unit and a child through the UI.
    await page.getByRole('button', { name: 'New top-level unit' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('Sales');
    await accessible(page, 'create OU dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { level: 2, name: 'Sales' }).waitFor();
    await page.getByRole('button', { name: 'Add child unit' }).click();
    await page.getByRole('dialog', { name: 'New unit under /Sales' }).getByLabel('Name').fill('EMEA');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await node('EMEA').waitFor();
    const listed = (await api.call('GET', `/api/v1/tenants/${tenantId}/ous?search=EMEA`)).body.data as {
      id: string;
      path: string;
    }[];
    const emea = listed.find((unit) => unit.path === '/Sales/EMEA');
    if (!emea) throw new Error('EMEA was not created under Sales');
    const sales = (await ouState(api, tenantId, emea.id))?.parent_id as string;

    // More of the tree, and users, through the API.
    const munich = await ou(api, tenantId, 'Munich', emea.id);
    const berlin = await ou(api, tenantId, 'Berlin', support.id);
    const annaEmail = `anna-${Date.now()}@acme.example`;
    const anna = await user(api, tenantId, annaEmail, emea.id);
    const bert = await user(api, tenantId, `bert-${Date.now()}@acme.example`, berlin.id);
    await page.reload();
    await node('Munich').waitFor();
    await accessible(page, 'OU tree');
    await screenshot(page, 'ous');

    // Drag EMEA (with Munich) onto Engineering.
    await node('EMEA').dragTo(node('Engineering'));
    await page.getByText('EMEA moved to /Engineering').waitFor();
    expect(await ouState(api, tenantId, emea.id)).toMatchObject({
      parent_id: engineering.id,
      path: '/Engineering/EMEA',
    });
    expect((await ouState(api, tenantId, munich.id))?.path).toBe('/Engineering/EMEA/Munich');

    // Dragging Engineering onto its own descendant is a cycle: the API's 400 shows beside the tree.
    await node('Engineering').dragTo(node('Munich'));
    await page.getByRole('alert').filter({ hasText: 'OU_CYCLE' }).waitFor();
    expect((await ouState(api, tenantId, engineering.id))?.parent_id).toBeNull();

    // Drag to the top level: Munich out of EMEA, then back by keyboard ("Move to…").
    await node('Munich').dragTo(page.getByText('Drop here to move to the top level'));
    await page.getByText('Munich moved to the top level').waitFor();
    expect((await ouState(api, tenantId, munich.id))?.parent_id).toBeNull();
    await node('Munich').press('Enter');
    await page.getByRole('heading', { level: 2, name: 'Munich' }).waitFor();
    await page.getByRole('button', { name: 'Move to…' }).press('Enter');
    const moving = page.getByRole('dialog', { name: 'Move Munich' });
    await expect
      .poll(() => moving.getByLabel('New parent').evaluate((input) => input === document.activeElement))
      .toBe(true);
    await page.keyboard.type('/Engineering/EMEA');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect.poll(() => moving.getByLabel('New parent').inputValue()).toBe('/Engineering/EMEA');
    await accessible(page, 'move OU dialog');
    await moving.getByRole('button', { name: 'Move', exact: true }).press('Enter');
    await page.getByText('Munich moved to /Engineering/EMEA').waitFor();
    expect(await ouState(api, tenantId, munich.id)).toMatchObject({
      parent_id: emea.id,
      path: '/Engineering/EMEA/Munich',
    });

    // The users of a unit.
    await node('EMEA').click();
    await page.getByRole('table', { name: 'Users of EMEA' }).getByRole('cell', { name: annaEmail }).waitFor();

    const openDelete = async (name: string) => {
      await node(name).click();
      await page.getByRole('heading', { level: 2, name }).waitFor();
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      return page.getByRole('dialog', { name: `Delete ${name}` });
    };
    const preview = (dialog: ReturnType<Page['getByRole']>) =>
      dialog.getByRole('status', { name: 'Preview' });

    // BLOCK: refused while Engineering holds EMEA (the preview says so), allowed for the empty Sales.
    let dialog = await openDelete('Engineering');
    await preview(dialog).filter({ hasText: '1 child unit and 0 users: the API will refuse' }).waitFor();
    await accessible(page, 'delete OU dialog');
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.getByRole('alert').filter({ hasText: 'OU_NOT_EMPTY' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await ouState(api, tenantId, engineering.id)).not.toBeNull();
    dialog = await openDelete('Sales');
    await preview(dialog).filter({ hasText: 'The unit is empty' }).waitFor();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await node('Sales').waitFor({ state: 'detached' });
    expect(await ouState(api, tenantId, sales)).toBeNull();

    // MOVE_UP: EMEA's child Munich and its user Anna go to Engineering.
    dialog = await openDelete('EMEA');
    await dialog.getByRole('radio', { name: 'Move contents up' }).check();
    await preview(dialog)
      .filter({ hasText: '1 child unit moves and 1 user moves to the parent /Engineering' })
      .waitFor();
    await preview(dialog)
      .getByRole('list', { name: 'Units that move' })
      .getByText('/Engineering/EMEA/Munich')
      .waitFor();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await node('EMEA').waitFor({ state: 'detached' });
    expect(await ouState(api, tenantId, emea.id)).toBeNull();
    expect(await ouState(api, tenantId, munich.id)).toMatchObject({
      parent_id: engineering.id,
      path: '/Engineering/Munich',
    });
    expect(await userOu(api, tenantId, anna.id)).toBe(engineering.id);

    // CASCADE: Support and Berlin are deleted, Bert leaves for the top level (no unit).
    dialog = await openDelete('Support');
    await dialog.getByRole('radio', { name: 'Delete the subtree' }).check();
    await preview(dialog)
      .filter({ hasText: '2 units are deleted (this one and all below it); 1 user moves to no unit' })
      .waitFor();
    await preview(dialog)
      .getByRole('list', { name: 'Units that are deleted' })
      .getByText('/Support/Berlin')
      .waitFor();
    expect(await dialog.getByRole('button', { name: 'Delete', exact: true }).isDisabled()).toBe(true);
    await dialog.getByLabel('Type Support to confirm').fill('Support');
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await node('Support').waitFor({ state: 'detached' });
    expect(await ouState(api, tenantId, support.id)).toBeNull();
    expect(await ouState(api, tenantId, berlin.id)).toBeNull();
    expect(await userOu(api, tenantId, bert.id)).toBeNull();

    // Rename.
    await node('Engineering').click();
    await page.getByRole('button', { name: 'Rename' }).click();
    const renaming = page.getByRole('dialog', { name: 'Rename unit' });
    await renaming.getByLabel('Name').fill('R&D');
    await accessible(page, 'rename OU dialog');
    await renaming.getByRole('button', { name: 'Save' }).click();
    await node('R&D').waitFor();
    expect((await ouState(api, tenantId, munich.id))?.path).toBe('/R&D/Munich');
    expect(consoleProblems(page)).toEqual([]);
  });

  it('the groups and OU screens are accessible at phone width', { timeout: 180_000 }, async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const api = await platformApi(c.app);
    const tenantId = admin.tenant.id;
    const parent = await api.created(`/api/v1/tenants/${tenantId}/groups`, { name: 'Engineering' });
    const child = await api.created(`/api/v1/tenants/${tenantId}/groups`, {
      name: 'Platform team',
      parent_group_id: parent.id,
    });
    await user(api, tenantId, `phone-${Date.now()}@acme.example`);
    const root = await ou(api, tenantId, 'Sales');
    await ou(api, tenantId, 'EMEA', root.id);

    const page = await c.page({ viewport: { width: 390, height: 844 } });
    await signInToConsole(page, c.origin, admin);
    await page.goto(groupsUrl(c.origin, admin));
    await page
      .getByRole('table', { name: 'Groups of the tenant' })
      .getByRole('link', { name: 'Platform team' })
      .waitFor();
    await accessible(page, 'groups list (phone)');
    await page.goto(`${groupsUrl(c.origin, admin)}/${child.id}`);
    await page
      .getByRole('list', { name: 'Parent groups' })
      .getByRole('link', { name: 'Engineering' })
      .waitFor();
    await accessible(page, 'group detail (phone)');
    await page.goto(`${c.origin}/console/tenants/${tenantId}/ous?ou=${root.id}`);
    await page.getByRole('heading', { level: 2, name: 'Sales' }).waitFor();
    await page
      .getByRole('list', { name: 'Organizational unit tree' })
      .getByRole('button', { name: 'EMEA' })
      .waitFor();
    await accessible(page, 'OU tree (phone)');
    expect(consoleProblems(page)).toEqual([]);
  });
});
