// Browser tests of issue 18's pages against a real server: the portal's help center (browse,
// search, an article) and its suggestions while a customer types a new ticket's subject, never
// showing a staff-only document; and the helpdesk's Background jobs page, where a re-index
// started by an admin runs to Completed with its progress.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, CUSTOMER, customerToken, gql, newBrowser, screenshot, signIn, staffToken, startServer } from './harness.mjs';

let server;

const SAVE = `mutation($input: KnowledgeDocumentInput!) { saveKnowledgeDocument(input: $input) { id } }`;

before(async () => {
  server = await startServer();
  const admin = await staffToken(server.url, ADMIN);
  await gql(server.url, admin, SAVE, {
    input: { title: 'Fixing a paper jam', body: '# Printers\n## Paper jams\nOpen tray B and pull the sheet out slowly.', format: 'MARKDOWN', public: true },
  });
  await gql(server.url, admin, SAVE, {
    input: { title: 'Printer vendor escalation', body: 'Internal only: call the printer vendor on 555-0100.', format: 'TEXT' },
  });
  // The indexer runs beside the server: wait until the public article is searchable.
  const customer = await customerToken(server.url, CUSTOMER);
  const deadline = Date.now() + 20000;
  for (;;) {
    const d = await gql(server.url, customer, 'query { helpCenterSearch(text: "paper jam") { articleId } }');
    if (d.helpCenterSearch.length > 0) break;
    if (Date.now() > deadline) throw new Error('the public article never became searchable');
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(async () => {
  await server?.stop();
});

test('a customer browses and searches the help center and gets suggestions while typing a subject', async () => {
  const b = await newBrowser();
  const { page } = b;
  try {
    await page.goto(`${server.url}/portal`);
    await page.getByLabel('Email').fill(CUSTOMER.email);
    await page.getByLabel('Password').fill(CUSTOMER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'My tickets' }).waitFor();

    await page.getByRole('link', { name: 'Help center' }).click();
    await page.getByRole('heading', { name: 'Help center' }).waitFor();
    const articles = page.getByRole('list', { name: 'Articles' });
    await articles.getByRole('link', { name: 'Fixing a paper jam' }).waitFor();
    assert.equal(await articles.getByText('Printer vendor escalation').count(), 0, 'a staff-only document is not listed');

    await page.getByLabel('Search for answers').fill('printer vendor');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No article matches.').waitFor();
    await page.getByLabel('Search for answers').fill('printr jam');
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.getByLabel('Search results');
    await results.getByRole('link', { name: 'Fixing a paper jam' }).click();
    await page.getByRole('heading', { name: 'Fixing a paper jam' }).waitFor();
    assert.match(await page.locator('article').innerText(), /Open tray B/);
    await screenshot(page, 'portal-help-center-article');

    // Typing a new ticket's subject suggests the article; it opens in place, the form keeps its text.
    await page.goto(`${server.url}/portal/new`);
    await page.getByLabel('Subject').fill('My printer has a paper jam');
    const suggested = page.getByRole('region', { name: 'Suggested articles' });
    await suggested.getByRole('button', { name: 'Fixing a paper jam' }).click();
    await suggested.getByText('Open tray B').waitFor();
    assert.equal(await suggested.getByText('vendor').count(), 0, 'nothing of the staff-only document');
    assert.equal(await page.getByLabel('Subject').inputValue(), 'My printer has a paper jam');
    await screenshot(page, 'portal-new-ticket-suggestions');
    await page.getByLabel('Subject').fill('Invoice address');
    await suggested.waitFor({ state: 'detached' });
  } finally {
    await b.close();
  }
});

test('an admin starts a re-index on the Background jobs page and watches it complete', async () => {
  const b = await newBrowser();
  const { page } = b;
  try {
    await signIn(page, server.url, ADMIN);
    await page.getByRole('link', { name: 'Knowledge', exact: true }).click();
    await page.getByRole('link', { name: 'Background jobs' }).first().click();
    await page.getByRole('heading', { name: 'Background jobs' }).waitFor();
    await page.getByRole('button', { name: 'Re-index search' }).click();
    const row = page.getByRole('row', { name: /Re-index Tickets and knowledge/ });
    await row.getByText('Completed').waitFor({ timeout: 30000 });
    const text = await row.innerText();
    const [, done, total] = /(\d+) \/ (\d+)/.exec(text) ?? [];
    assert.ok(Number(total) > 0 && done === total, `progress reached the total: ${text}`);
    await screenshot(page, 'helpdesk-background-jobs');
  } finally {
    await b.close();
  }
});
