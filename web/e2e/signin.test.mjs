// Browser test of signing in when one address has accounts in two workspaces: the demo
// workspace and a second one seeded beside it with the demo's addresses. Each person signs in
// with their own password; a password that opens both leads to a choice on the form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, AGENT, CUSTOMER, newBrowser, screenshot, startServer } from './harness.mjs';

let server;

before(async () => {
  server = await startServer();
  server.seed({
    workspace: { slug: 'globex', name: 'Globex Help', ticket_prefix: 'GX', time_zone: 'UTC' },
    users: [
      // The demo admin's address and password; the demo agent's address with another password.
      { email: ADMIN.email, name: 'Ada at Globex', role: 'admin', password: ADMIN.password },
      { email: AGENT.email, name: 'Alex at Globex', role: 'agent', password: 'globex agent password' },
    ],
    queues: [{ name: 'General', is_default: true, members: [] }],
    help_topics: [],
    canned_responses: [],
    contacts: [{ name: 'Carla at Globex', email: CUSTOMER.email, phone: null, requester_type: 'account', portal_password: CUSTOMER.password }],
    tickets: [],
  });
});

after(async () => {
  await server?.stop();
});

async function fillSignIn(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('staff with one address in two workspaces sign in with their own password, or choose', async () => {
  const b = await newBrowser();
  const { page } = b;
  try {
    await page.goto(`${server.url}/`);
    // A wrong password reads like an unknown address.
    await fillSignIn(page, AGENT.email, 'not the password');
    assert.equal(await page.getByRole('alert').innerText(), 'Wrong email or password.');
    await fillSignIn(page, 'nobody@demo.switchboard.test', 'not the password');
    assert.equal(await page.getByRole('alert').innerText(), 'Wrong email or password.');

    // Globex's agent password opens Globex, straight away.
    await fillSignIn(page, AGENT.email, 'globex agent password');
    await page.getByRole('navigation', { name: 'Main' }).getByText('Globex Help').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();

    // The admin's password opens both workspaces: the form asks which.
    await fillSignIn(page, ADMIN.email, ADMIN.password);
    const choice = page.getByRole('group', { name: 'Choose a workspace' });
    await choice.waitFor();
    await screenshot(page, 'sign-in-choose-workspace');
    assert.deepEqual(await choice.getByRole('button').allInnerTexts(), ['Northwind Support', 'Globex Help', 'Use another email or password']);
    await choice.getByRole('button', { name: 'Globex Help' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByText('Ada at Globex').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await fillSignIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole('group', { name: 'Choose a workspace' }).getByRole('button', { name: 'Northwind Support' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByText('Northwind Support').waitFor();
  } finally {
    await b.close();
  }
});

test('a customer of two workspaces with one password chooses on the portal form', async () => {
  const b = await newBrowser();
  const { page } = b;
  try {
    await page.goto(`${server.url}/portal`);
    await fillSignIn(page, CUSTOMER.email, 'not the password');
    assert.equal(await page.getByRole('alert').innerText(), 'Wrong email or password.');
    await fillSignIn(page, CUSTOMER.email, CUSTOMER.password);
    const choice = page.getByRole('group', { name: 'Choose a workspace' });
    await choice.getByRole('button', { name: 'Globex Help' }).click();
    // Globex has no tickets of Carla's; the demo workspace has.
    await page.getByText('You have no tickets yet.').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await fillSignIn(page, CUSTOMER.email, CUSTOMER.password);
    await page.getByRole('group', { name: 'Choose a workspace' }).getByRole('button', { name: 'Northwind Support' }).click();
    await page.getByTestId('my-ticket').first().waitFor();
  } finally {
    await b.close();
  }
});
