// Browser tests of the agent helpdesk and the customer portal against a real server with the
// demo workspace. Each test ends with a screenshot in test-results/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  AGENT, CUSTOMER, DOWNLOADS, OTHER_CUSTOMER, SUPERVISOR, customerToken, gql, newBrowser, screenshot, signIn, staffToken, startServer,
} from './harness.mjs';

let server;
let agentToken;
const measurements = {};

before(async () => {
  server = await startServer();
  agentToken = await staffToken(server.url, AGENT);
});

after(async () => {
  await server?.stop();
  for (const [k, v] of Object.entries(measurements)) console.log(`MEASURE ${k}: ${v}`);
});

/** RFC 4180 CSV into rows of fields. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  if (field || row.length) row.push(field), rows.push(row);
  return rows;
}

const OVERDUE = `query { tickets(filter: { sla: OVERDUE }, first: 100) { totalCount nodes { id number subject assignee { id } } } }`;
const OPEN_TICKET = `mutation($input: OpenTicketInput!) { openTicket(input: $input) { id number subject } }`;

test('agent filters by SLA overdue, replies with a canned response, notes, claims and closes', async () => {
  // The demo data holds overdue tickets (help-topic due offsets shorter than their age); make
  // sure, so the filter has something to find.
  let overdue = (await gql(server.url, agentToken, OVERDUE)).tickets;
  // The agent claims it, so it must not belong to someone else.
  if (overdue.totalCount > 0 && !overdue.nodes.some((t) => !t.assignee)) {
    const admin = await staffToken(server.url, { email: 'admin@demo.switchboard.test', password: 'demo-admin' });
    await gql(server.url, admin, 'mutation($id: ID!) { updateTicket(ticketId: $id, input: { assigneeId: null }) { id } }', { id: overdue.nodes[0].id });
    overdue = (await gql(server.url, agentToken, OVERDUE)).tickets;
  }
  if (!overdue.nodes.some((t) => !t.assignee)) {
    await gql(server.url, agentToken, OPEN_TICKET, {
      input: { subject: 'Overdue: invoice export broken', requester: { email: 'customer@example.com' }, resolutionDueAt: new Date(Date.now() - 3600e3).toISOString() },
    });
    overdue = (await gql(server.url, agentToken, OVERDUE)).tickets;
  }
  assert.ok(overdue.totalCount > 0, 'there is an overdue ticket to find');

  const b = await newBrowser();
  const { page } = b;
  try {
    await signIn(page, server.url, AGENT);
    await page.getByRole('heading', { name: 'Tickets' }).waitFor();
    await page.getByLabel('SLA').selectOption({ label: 'Overdue' });
    await page.waitForURL(/sla=overdue/);
    await page.getByTestId('result-count').filter({ hasText: `of ${overdue.totalCount} tickets` }).waitFor();
    const shown = await page.getByTestId('ticket-card').evaluateAll((els) => els.map((e) => e.dataset.number));
    assert.deepEqual(shown.sort(), overdue.nodes.map((t) => t.number).sort(), 'the list shows exactly the overdue tickets');
    // Every overdue card says its SLA target has passed.
    for (const due of await page.locator('[data-testid=ticket-card] .due').allInnerTexts()) assert.match(due, /(ago|now)$/);

    const target = overdue.nodes.find((t) => !t.assignee);
    await page.locator(`[data-testid=ticket-card][data-number="${target.number}"]`).getByRole('link').click();
    await page.getByRole('heading', { name: target.subject }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/tickets/${target.number}`);

    // Reply with a canned response, previewed against this ticket.
    const canned = page.getByRole('combobox', { name: /^Canned response/ });
    await canned.waitFor();
    const options = await canned.locator('option').allInnerTexts();
    assert.ok(options.length > 1, 'canned responses are offered');
    await canned.selectOption({ index: 1 });
    const preview = page.getByTestId('canned-preview');
    await preview.waitFor();
    const previewText = (await preview.locator('.body').innerText()).trim();
    assert.ok(previewText.length > 0 && !previewText.includes('{{'), `the preview is rendered: ${previewText}`);
    await preview.getByRole('button', { name: 'Insert' }).click();
    assert.equal((await page.getByLabel(/^Reply \(the requester/).inputValue()).trim(), previewText);
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.getByRole('status').filter({ hasText: 'Reply sent' }).waitFor();
    const reply = page.locator('[data-testid=entry][data-kind=REPLY]').filter({ hasText: previewText.slice(0, 40) }).last();
    await reply.waitFor();
    assert.match(await reply.innerText(), /Public reply/);

    // An internal note with an @mention, visibly an internal note.
    await page.getByRole('tab', { name: 'Internal note' }).click();
    const note = page.getByLabel(/^Internal note \(only staff/);
    await note.fill('Checked the logs, looks like the export job. @pri');
    await page.getByRole('option', { name: /@priya/ }).click();
    assert.equal(await note.inputValue(), 'Checked the logs, looks like the export job. @priya ');
    await page.getByRole('button', { name: 'Add note' }).click();
    const noteEntry = page.locator('[data-testid=entry][data-kind=NOTE]').filter({ hasText: 'looks like the export job' });
    await noteEntry.waitFor();
    assert.match(await noteEntry.innerText(), /Internal note/);
    assert.equal(await noteEntry.evaluate((e) => getComputedStyle(e).backgroundColor), 'rgb(255, 251, 235)', 'notes are tinted apart from replies');

    // Claim: the ticket becomes mine.
    await page.getByRole('button', { name: 'Claim' }).click();
    await page.getByTestId('assignee').filter({ hasText: AGENT.name }).waitFor();
    await page.getByRole('button', { name: 'Release' }).waitFor();

    // Close with a reason and a note.
    await page.getByRole('button', { name: 'Close…' }).click();
    await page.getByLabel('Close reason').selectOption({ label: 'Duplicate' });
    await page.getByLabel(/^Close note/).fill('Same as the export ticket from Monday.');
    await page.getByRole('button', { name: 'Close ticket' }).click();
    await page.getByTestId('close-reason').filter({ hasText: 'Duplicate — Same as the export ticket from Monday.' }).waitFor();
    assert.equal(await page.locator('h1 + .row .badge').first().innerText(), 'Closed');
    await page.getByRole('button', { name: 'Reopen' }).waitFor();

    const saved = await gql(server.url, agentToken, `query($n: String!) { ticket(number: $n) { status closeReason closeNote assignee { name } entries { kind internal body mentions } } }`, { n: target.number });
    assert.equal(saved.ticket.status, 'CLOSED');
    assert.equal(saved.ticket.closeReason, 'DUPLICATE');
    assert.equal(saved.ticket.assignee.name, AGENT.name);
    const savedNote = saved.ticket.entries.find((e) => e.kind === 'NOTE' && e.body.includes('export job'));
    assert.ok(savedNote.internal && savedNote.mentions.length === 1, 'the note is internal and mentions Priya');
    assert.ok(saved.ticket.entries.some((e) => e.kind === 'REPLY' && !e.internal && e.body.trim() === previewText));
    await screenshot(page, 'agent-overdue-reply-note-claim-close');
  } finally {
    await b.close();
  }
});

test('supervisor bulk-assigns three tickets and exports the selection to CSV', async () => {
  const b = await newBrowser();
  const { page } = b;
  try {
    await signIn(page, server.url, SUPERVISOR);
    await page.getByRole('heading', { name: 'Tickets' }).waitFor();
    await page.getByLabel('Assigned to').selectOption({ label: 'Unassigned' });
    await page.waitForURL(/assignee=unassigned/);
    await page.getByTestId('ticket-card').first().waitFor();
    await page.getByRole('button', { name: 'Select tickets' }).click();
    const cards = page.getByTestId('ticket-card');
    assert.ok((await cards.count()) >= 3, 'at least three unassigned tickets');
    const picked = [];
    for (let i = 0; i < 3; i++) {
      const card = cards.nth(i);
      picked.push(await card.getAttribute('data-number'));
      await card.getByRole('checkbox').check();
    }
    await page.getByTestId('selected-count').filter({ hasText: '3 selected' }).waitFor();
    await page.getByLabel('Assign to').selectOption({ label: 'Priya Sharma' });
    await page.getByRole('status').filter({ hasText: 'Assigned to Priya Sharma: 3 tickets updated' }).waitFor();

    const token = await staffToken(server.url, SUPERVISOR);
    for (const n of picked) {
      const t = await gql(server.url, token, 'query($n: String!) { ticket(number: $n) { assignee { name } } }', { n });
      assert.equal(t.ticket.assignee?.name, 'Priya Sharma', `${n} is assigned to Priya`);
    }
    // The unassigned view no longer lists them.
    await page.waitForFunction((nums) => !nums.some((n) => document.querySelector(`[data-testid=ticket-card][data-number="${n}"]`)), picked);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    mkdirSync(DOWNLOADS, { recursive: true });
    const file = join(DOWNLOADS, download.suggestedFilename());
    await download.saveAs(file);
    assert.match(download.suggestedFilename(), /^tickets-\d{4}-\d{2}-\d{2}\.csv$/);
    const rows = parseCsv(readFileSync(file, 'utf8'));
    assert.deepEqual(rows[0], ['Number', 'Subject', 'Status', 'Priority', 'Assignee', 'Queue', 'Help topic', 'Requester', 'SLA due', 'Created']);
    assert.equal(rows.length, 4, 'a header and the three selected rows');
    assert.deepEqual(rows.slice(1).map((r) => r[0]).sort(), [...picked].sort());
    for (const r of rows.slice(1)) assert.equal(r[4], 'Priya Sharma', `${r[0]} is exported with its new assignee`);
    await screenshot(page, 'supervisor-bulk-assign-csv');
  } finally {
    await b.close();
  }
});

test('a ticket opened through the API appears in the open list without a reload', async () => {
  const b = await newBrowser();
  const { page } = b;
  try {
    await signIn(page, server.url, AGENT);
    await page.getByTestId('ticket-card').first().waitFor();
    await page.getByRole('button', { name: /Open$/ }).click();
    await page.waitForURL(/status=open/);
    const before = Number(await page.getByTestId('count-OPEN').innerText());
    // A marker that a reload would wipe.
    await page.evaluate(() => (window.__noReload = true));
    // The subscription is live (its opening resync arrived): no change after this is missed.
    await page.locator('html[data-live=on]').waitFor({ state: 'attached' });
    const subject = `Live: printer on fire ${Date.now()}`;
    const created = await gql(server.url, agentToken, OPEN_TICKET, { input: { subject, requester: { email: 'live@example.com', name: 'Live Tester' } } });
    const card = page.locator(`[data-testid=ticket-card][data-number="${created.openTicket.number}"]`);
    await card.waitFor({ timeout: 5000 });
    assert.match(await card.innerText(), new RegExp(subject));
    await page.getByTestId('count-OPEN').filter({ hasText: String(before + 1) }).waitFor();
    assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
    await screenshot(page, 'live-ticket-appears');
  } finally {
    await b.close();
  }
});

test('customer sees only their tickets, replies, and never sees internal notes', async () => {
  const token = await customerToken(server.url, CUSTOMER);
  const mine = (await gql(server.url, token, '{ myTickets(first: 100) { nodes { number } } }')).myTickets.nodes.map((t) => t.number);
  const theirs = (await gql(server.url, await customerToken(server.url, OTHER_CUSTOMER), '{ myTickets(first: 100) { nodes { number } } }')).myTickets.nodes.map((t) => t.number);
  assert.ok(mine.length > 0 && theirs.length > 0, 'both demo customers have tickets');
  const number = mine[0];
  const { ticket } = await gql(server.url, agentToken, 'query($n: String!) { ticket(number: $n) { id status } }', { n: number });
  if (ticket.status === 'CLOSED') await gql(server.url, agentToken, 'mutation($id: ID!) { reopenTicket(ticketId: $id) { id } }', { id: ticket.id });
  const secret = `INTERNAL-${Date.now()}: customer is on the watch list`;
  await gql(server.url, agentToken, 'mutation($id: ID!, $b: String!) { addNote(ticketId: $id, body: $b) { id } }', { id: ticket.id, b: secret });
  await gql(server.url, agentToken, 'mutation($id: ID!, $b: String!) { reply(ticketId: $id, body: $b) { id } }', { id: ticket.id, b: 'We are looking into it today.' });

  const b = await newBrowser();
  const { page } = b;
  const sent = [];
  page.on('request', (r) => r.url().endsWith('/graphql') && r.method() === 'POST' && sent.push(r.postData() ?? ''));
  try {
    await page.goto(`${server.url}/portal`);
    await page.getByLabel('Email').fill(CUSTOMER.email);
    await page.getByLabel('Password').fill(CUSTOMER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'My tickets' }).waitFor();
    await page.getByTestId('my-ticket').first().waitFor();
    const listed = await page.getByTestId('my-ticket').evaluateAll((els) => els.map((e) => e.dataset.number));
    assert.deepEqual(listed.sort(), [...mine].sort(), 'the list holds exactly the customer’s tickets');
    for (const n of theirs) assert.ok(!listed.includes(n), `${n} (another customer's) is not listed`);

    await page.locator(`[data-testid=my-ticket][data-number="${number}"]`).getByRole('link').click();
    await page.getByText('We are looking into it today.').waitFor();
    await page.getByLabel('Your reply').fill('Thanks, the invoice is attached to my account.');
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.locator('[data-testid=entry]').filter({ hasText: 'Thanks, the invoice is attached' }).waitFor();
    assert.match(await page.locator('[data-testid=entry]').last().innerText(), /^You/);
    const html = await page.content();
    assert.ok(!html.includes(secret) && !html.includes('INTERNAL-'), 'the internal note is never shown');
    // The portal never even asks for staff fields.
    assert.ok(sent.length > 0);
    for (const body of sent) assert.ok(!/\binternal\b|\bticket\(|\bassignee\b|\bhistory\b/.test(JSON.parse(body).query), body);

    const staffView = await gql(server.url, agentToken, 'query($n: String!) { ticket(number: $n) { entries { body authorContactId } } }', { n: number });
    assert.ok(staffView.ticket.entries.some((e) => e.authorContactId && e.body.startsWith('Thanks, the invoice')), 'the reply reached the ticket');
    await screenshot(page, 'customer-portal-reply');
  } finally {
    await b.close();
  }
});

test('measures first-load JavaScript and login to a 50-row ticket list', async () => {
  // Enough tickets for a full first page.
  const { tickets } = await gql(server.url, agentToken, '{ tickets(first: 1) { totalCount } }');
  for (let i = tickets.totalCount; i < 60; i++) {
    await gql(server.url, agentToken, OPEN_TICKET, { input: { subject: `Load ticket ${i}`, requester: { email: `load${i}@example.com` } } });
  }
  const b = await newBrowser();
  const { page } = b;
  try {
    const scripts = [];
    page.on('response', (r) => new URL(r.url()).pathname.endsWith('.js') && scripts.push(r));
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    let gzipped = 0;
    for (const r of scripts) gzipped += gzipSync(await r.body()).length;
    const budget = 300 * 1024;
    measurements['first-load JS (helpdesk, gzipped)'] = `${(gzipped / 1024).toFixed(1)} KB in ${scripts.length} files (budget 300 KB)`;
    assert.ok(gzipped > 0 && gzipped < budget, `first-load JS ${gzipped} B`);

    await page.getByLabel('Email').fill(AGENT.email);
    await page.getByLabel('Password').fill(AGENT.password);
    const started = Date.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=ticket-card]').length >= 50);
    // Interactive: the last row's link takes focus and the keyboard moves through the list.
    await page.locator('[data-testid=ticket-card] a').nth(49).focus();
    const elapsed = Date.now() - started;
    measurements['login to 50-row ticket list interactive'] = `${elapsed} ms (budget 1000 ms)`;
    assert.equal(await page.getByTestId('ticket-card').count(), 50);
    await page.keyboard.press('k');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('[data-testid=ticket-card]')?.dataset.number),
      await page.getByTestId('ticket-card').nth(48).getAttribute('data-number'), 'k moves up the list');
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-shortcut')), 'search', '/ focuses the search');
    await screenshot(page, 'ticket-list-50-rows');
  } finally {
    await b.close();
  }
});

test('admin pages, SLA dashboard, staff queue and the create form render and work', async () => {
  const b = await newBrowser();
  const { page } = b;
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  try {
    await signIn(page, server.url, { email: 'admin@demo.switchboard.test', password: 'demo-admin' });
    await page.getByTestId('ticket-card').first().waitFor();
    const pages = [
      ['Staff queue', 'Staff queue'],
      ['SLA dashboard', 'SLA dashboard'],
      ['Quality review', 'Quality review'],
      ['Suggested macros', 'Suggested macros'],
      ['Queues', 'Queues'],
      ['Routing rules', 'Routing rules'],
      ['Help topics', 'Help topics'],
      ['Canned responses', 'Canned responses'],
      ['SLA policies', 'SLA policies and business hours'],
      ['Webhooks', 'Webhooks'],
      ['Team members', 'Team members'],
      ['Alerts & follow-ups', 'Alerts & follow-ups'],
      ['API tokens', 'API tokens'],
      ['Your account', 'Your account'],
    ];
    for (const [link, heading] of pages) {
      await page.getByRole('navigation').getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.waitForLoadState('networkidle');
      assert.equal(await page.getByRole('alert').count(), 0, `${link}: ${await page.getByRole('alert').allInnerTexts()}`);
    }
    // Business hours: hours an SLA policy counts in cannot be deleted (the error names the
    // policy); once the policy counts round the clock, they can.
    await page.getByRole('navigation').getByRole('link', { name: 'SLA policies', exact: true }).click();
    const fresh = page.getByRole('form', { name: 'New business hours' });
    await fresh.getByLabel('Calendar name').fill('Night shift');
    await fresh.getByRole('button', { name: 'Create business hours' }).click();
    const night = page.getByRole('form', { name: 'Business hours Night shift' });
    await night.waitFor();
    const newPolicy = page.getByRole('form', { name: 'New SLA policy' });
    await newPolicy.getByLabel('Name').fill('Night watch');
    await newPolicy.getByLabel('Priority').selectOption('LOW');
    await newPolicy.getByLabel('Help topic').selectOption({ index: 1 });
    await newPolicy.getByLabel('Business hours').selectOption({ label: 'Night shift' });
    await newPolicy.getByRole('button', { name: 'Create policy' }).click();
    const policy = page.getByRole('form', { name: 'SLA policy Night watch' });
    await policy.waitFor();
    await night.getByRole('button', { name: 'Delete business hours' }).click();
    await night.getByRole('alert').filter({ hasText: '\u201cNight watch\u201d counts in these business hours' }).waitFor();
    await policy.getByLabel('Business hours').selectOption({ label: 'Round the clock' });
    await policy.getByRole('button', { name: 'Save' }).click();
    await policy.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    await page.getByRole('form', { name: 'Business hours Night shift' }).getByRole('button', { name: 'Delete business hours' }).click();
    await night.waitFor({ state: 'detached' });
    // Leave the shared demo workspace's policies as they were.
    await policy.getByRole('button', { name: 'Delete' }).click();
    await policy.waitFor({ state: 'detached' });

    // Staff queue: claiming an unclaimed ticket moves it to "Mine".
    await page.getByRole('navigation').getByRole('link', { name: 'Staff queue', exact: true }).click();
    const mineTab = page.getByRole('tab', { name: /Mine$/ });
    await mineTab.locator('.n').filter({ hasText: /^\d+$/ }).waitFor();
    const mineBefore = Number(await mineTab.locator('.n').innerText());
    await page.getByRole('tab', { name: /Unclaimed$/ }).click();
    await page.waitForURL(/view=unclaimed/);
    const first = page.getByTestId('ticket-card').first();
    const claimed = await first.getAttribute('data-number');
    await first.getByRole('button', { name: `Claim ${claimed}` }).click();
    await page.locator(`[data-testid=ticket-card][data-number="${claimed}"]`).waitFor({ state: 'detached' });
    await mineTab.locator('.n').filter({ hasText: String(mineBefore + 1) }).waitFor();
    await mineTab.click();
    await page.locator(`[data-testid=ticket-card][data-number="${claimed}"]`).getByRole('button', { name: `Release ${claimed}` }).click();
    await mineTab.locator('.n').filter({ hasText: String(mineBefore) }).waitFor();

    // "Awaiting staff" and "Awaiting customer" are the API's awaiting filter, lists and counts: a
    // ticket staff answered without setting WAITING is the customer's turn, though still OPEN.
    const answered = (await gql(server.url, agentToken, OPEN_TICKET, { input: { subject: 'Answered, still open', requester: { email: 'customer@example.com' } } })).openTicket;
    await new Promise((r) => setTimeout(r, 5)); // the stamps are milliseconds; a tie is the customer's
    await gql(server.url, agentToken, 'mutation($id: ID!) { reply(ticketId: $id, body: "Please try again now.") { id } }', { id: answered.id });
    const AWAITING = 'query($f: TicketFilterInput) { tickets(filter: $f, first: 100) { totalCount nodes { number status } } }';
    // More than a page of tickets awaiting staff (opened for a customer, so theirs to answer).
    let staffSide = (await gql(server.url, agentToken, AWAITING, { f: { awaiting: 'STAFF' } })).tickets;
    for (let i = staffSide.totalCount; i <= 55; i++) {
      await gql(server.url, agentToken, OPEN_TICKET, { input: { subject: `Queue ticket ${i}`, requester: { email: `queue${i}@example.com` } } });
    }
    staffSide = (await gql(server.url, agentToken, AWAITING, { f: { awaiting: 'STAFF' } })).tickets;
    const customerSide = (await gql(server.url, agentToken, AWAITING, { f: { awaiting: 'CUSTOMER' } })).tickets;
    assert.ok(customerSide.nodes.some((t) => t.number === answered.number && t.status === 'OPEN'), 'the answered ticket awaits the customer');
    assert.ok(!staffSide.nodes.some((t) => t.number === answered.number), 'and not staff');
    assert.ok(staffSide.totalCount > 50, `more than a page awaits staff (${staffSide.totalCount})`);
    const customerTab = page.getByRole('tab', { name: /Awaiting customer$/ });
    await customerTab.locator('.n').filter({ hasText: new RegExp(`^${customerSide.totalCount}$`) }).waitFor();
    await customerTab.click();
    await page.waitForURL(/view=customer/);
    await page.locator(`[data-testid=ticket-card][data-number="${answered.number}"]`).waitFor();
    // "Load more" pages through the view, in the API's order.
    const staffTab = page.getByRole('tab', { name: /Awaiting staff$/ });
    await staffTab.locator('.n').filter({ hasText: new RegExp(`^${staffSide.totalCount}$`) }).waitFor();
    await staffTab.click();
    await page.waitForURL(/view=staff/);
    await page.getByTestId('result-count').filter({ hasText: `Showing 50 of ${staffSide.totalCount} tickets` }).waitFor();
    await page.getByRole('button', { name: 'Load more' }).click();
    const both = Math.min(100, staffSide.totalCount);
    await page.getByTestId('result-count').filter({ hasText: `Showing ${both} of ${staffSide.totalCount} tickets` }).waitFor();
    const paged = await page.getByTestId('ticket-card').evaluateAll((els) => els.map((e) => e.dataset.number));
    assert.deepEqual(paged, staffSide.nodes.slice(0, both).map((t) => t.number));

    // The SLA dashboard's tiles are the API's counts, its trend is the API's slaTrend, and the
    // Breached tile lists the open tickets with a recorded breach.
    const open = { status: ['OPEN', 'IN_PROGRESS', 'WAITING'] };
    const admin = await staffToken(server.url, { email: 'admin@demo.switchboard.test', password: 'demo-admin' });
    // A ticket past its resolution target; the job runner records the breach within 30 s.
    await gql(server.url, admin, OPEN_TICKET, {
      input: { subject: 'Breached: VPN drops every hour', requester: { email: 'customer@example.com' }, resolutionDueAt: new Date(Date.now() - 3600e3).toISOString() },
    });
    const DASH = 'query($a: TicketFilterInput, $b: TicketFilterInput) { a: tickets(filter: $a, first: 1) { totalCount } b: tickets(filter: $b, first: 100) { totalCount nodes { number } } trend: slaTrend(days: 7) { date opened breaches resolved } }';
    let counts = await gql(server.url, admin, DASH, { a: open, b: { ...open, sla: 'BREACHED' } });
    for (let i = 0; i < 45 && counts.b.totalCount === 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      counts = await gql(server.url, admin, DASH, { a: open, b: { ...open, sla: 'BREACHED' } });
    }
    assert.ok(counts.b.totalCount > 0, 'an open ticket has a recorded breach');
    assert.ok(counts.trend.at(-1).breaches > 0, "today's breaches are in the trend");
    await page.getByRole('navigation').getByRole('link', { name: 'SLA dashboard', exact: true }).click();
    await page.getByRole('link', { name: /Open$/ }).waitFor();
    assert.match(await page.getByRole('link', { name: /Open$/ }).innerText(), new RegExp(`^${counts.a.totalCount}\\s+Open$`));
    assert.match(await page.getByRole('link', { name: /Breached$/ }).innerText(), new RegExp(`^${counts.b.totalCount}\\s+Breached$`));
    assert.equal(counts.trend.length, 7);
    const chart = page.getByRole('img', { name: /^Tickets opened per day/ });
    const series = (k) => counts.trend.map((t) => t[k]).join(', ');
    assert.equal(await chart.getAttribute('aria-label'), `Tickets opened per day: ${series('opened')}; SLA targets missed per day: ${series('breaches')}; tickets resolved per day: ${series('resolved')}`);
    assert.deepEqual(await chart.locator('[data-date]').evaluateAll((els) => els.map((e) => e.dataset.date)), counts.trend.map((t) => t.date));
    assert.ok(counts.trend.reduce((n, t) => n + t.opened, 0) > 0, 'the demo opened tickets this week');
    await page.getByRole('link', { name: /Breached$/ }).click();
    await page.waitForURL(/sla=breached/);
    assert.equal(await page.getByLabel('SLA').inputValue(), 'BREACHED');
    await page.getByTestId('result-count').filter({ hasText: `of ${counts.b.totalCount} tickets` }).waitFor();
    const listed = await page.getByTestId('ticket-card').evaluateAll((els) => els.map((e) => e.dataset.number));
    const breachedNumbers = new Set(counts.b.nodes.map((t) => t.number));
    assert.ok(listed.length > 0 && listed.every((n) => breachedNumbers.has(n)), 'the list shows only breached tickets');
    if (counts.b.totalCount <= listed.length) assert.deepEqual(listed.sort(), [...breachedNumbers].sort());

    // A routing rule written in the editor is saved and listed.
    await page.getByRole('navigation').getByRole('link', { name: 'Routing rules', exact: true }).click();
    await page.getByRole('button', { name: 'New routing rule' }).click();
    const rule = page.getByRole('form', { name: 'Routing rule' });
    await rule.getByLabel('Rule name').fill('VIP customers');
    await rule.getByRole('combobox', { name: 'Field' }).selectOption('TAG');
    await rule.getByRole('textbox', { name: 'Value' }).fill('vip');
    await rule.getByRole('combobox', { name: 'Action' }).selectOption('SET_PRIORITY');
    await rule.getByRole('combobox', { name: 'Priority' }).selectOption('URGENT');
    await rule.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('row', { name: /VIP customers/ }).waitFor();
    const rules = (await gql(server.url, admin, '{ routingRules { name clauses { field op value } actions { type priority } } }')).routingRules;
    assert.deepEqual(rules.find((r) => r.name === 'VIP customers'), { name: 'VIP customers', clauses: [{ field: 'TAG', op: 'IS', value: 'vip' }], actions: [{ type: 'SET_PRIORITY', priority: 'URGENT' }] });

    // Queue members are listed with their role, weight and break.
    await page.getByRole('navigation').getByRole('link', { name: 'Queues', exact: true }).click();
    await page.getByRole('checkbox', { name: 'Jonas Weber on break' }).waitFor();
    assert.equal(await page.getByRole('checkbox', { name: 'Jonas Weber on break' }).isChecked(), true);

    // The automation editor shows the server's report on an invalid rule and saves nothing.
    await page.getByRole('navigation').getByRole('link', { name: 'Automation rules', exact: true }).click();
    const editor = page.getByLabel('Rules (JSON)');
    await editor.waitFor();
    await editor.fill(JSON.stringify([{ id: 'bad-one', name: 'Bad', trigger: 'when_pigs_fly', actions: [{ type: 'escalate' }] }]));
    await page.getByRole('button', { name: 'Validate and save' }).click();
    const report = page.getByLabel('Validation report');
    await report.getByText('Nothing saved').waitFor();
    assert.match(await report.innerText(), /bad-one\s+Invalid[\s\S]*trigger/);

    // Picking a help topic fills in its defaults on the create form.
    await page.getByRole('navigation').getByRole('link', { name: 'New ticket' }).click();
    await page.getByLabel('Help topic').selectOption({ label: 'Account access' });
    assert.equal(await page.getByLabel('Priority').inputValue(), 'URGENT');
    assert.notEqual(await page.getByLabel('Assignee').inputValue(), '');
    assert.notEqual(await page.getByLabel('Resolution due').inputValue(), '');
    await page.getByLabel('Subject').fill('Locked out after SSO change');
    await page.getByRole('tab', { name: 'Requester' }).click();
    await page.getByLabel('Requester email').fill('newperson@example.com');
    await page.getByRole('button', { name: 'Create ticket' }).click();
    await page.getByRole('heading', { name: 'Locked out after SSO change' }).waitFor();
    assert.match(await page.getByTestId('assignee').innerText(), /Alex Agent/);
    assert.deepEqual(problems, []);
    await screenshot(page, 'admin-and-create');
  } finally {
    await b.close();
  }
});

test('admin saves alerts and follow-ups with field errors, and creates and revokes an API token', async () => {
  const b = await newBrowser();
  const { page, context } = b;
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  const ADMIN = { email: 'admin@demo.switchboard.test', password: 'demo-admin' };
  const admin = await staffToken(server.url, ADMIN);
  try {
    await signIn(page, server.url, ADMIN);
    await page.getByTestId('ticket-card').first().waitFor();
    await page.getByRole('navigation').getByRole('link', { name: 'Alerts & follow-ups', exact: true }).click();
    await page.getByRole('heading', { name: 'Alerts & follow-ups', exact: true }).waitFor();

    // Follow-ups and auto-close: the server's rule (warning before the close) shows under the field.
    const inactivity = page.getByRole('form', { name: 'Follow-ups and auto-close' });
    await inactivity.getByLabel('Follow up after (hours without messages)').fill('48');
    await inactivity.getByLabel('Follow-up message').fill('Hi {{requester.name}}, is this still an issue?');
    await inactivity.getByLabel('Auto-close after (days without activity)').fill('7');
    await inactivity.getByLabel('Warn the requester (days before auto-close)').fill('9');
    await inactivity.getByLabel('Escalated tickets auto-close after (days)').fill('14');
    await inactivity.getByLabel("Only the requester's messages count as activity").check();
    await inactivity.getByLabel('Delete transcripts (days after close)').fill('365');
    await inactivity.getByRole('button', { name: 'Save follow-ups' }).click();
    const warning = inactivity.getByLabel('Warn the requester (days before auto-close)');
    await inactivity.locator('[data-field=autoCloseWarningDays] [role=alert]').waitFor();
    assert.match(await inactivity.locator('[data-field=autoCloseWarningDays] [role=alert]').innerText(), /fewer days/);
    assert.equal(await warning.getAttribute('aria-invalid'), 'true');
    assert.equal((await gql(server.url, admin, '{ inactivitySettings { autoCloseDays } }')).inactivitySettings.autoCloseDays, null, 'nothing saved');
    await warning.fill('2');
    await inactivity.getByRole('button', { name: 'Save follow-ups' }).click();
    await inactivity.getByRole('status').filter({ hasText: 'Follow-up settings saved' }).waitFor();
    assert.equal(await inactivity.getByRole('alert').count(), 0);
    assert.deepEqual((await gql(server.url, admin, '{ inactivitySettings { staleAfterHours staleMessage autoCloseDays autoCloseWarningDays autoCloseEscalatedDays autoCloseCustomerOnly transcriptRetentionDays } }')).inactivitySettings, {
      staleAfterHours: 48, staleMessage: 'Hi {{requester.name}}, is this still an issue?', autoCloseDays: 7, autoCloseWarningDays: 2,
      autoCloseEscalatedDays: 14, autoCloseCustomerOnly: true, transcriptRetentionDays: 365,
    });

    // After close: the variables are listed; an unknown one is refused on its field.
    const afterClose = page.getByRole('form', { name: 'After close' });
    const variables = (await gql(server.url, admin, '{ cannedResponseVariables }')).cannedResponseVariables;
    const listed = await afterClose.getByLabel('Template variables').locator('code').allInnerTexts();
    assert.deepEqual(listed, variables.map((v) => `{{${v}}}`));
    await afterClose.getByLabel('Rating request').fill('How did we do on {{ticket.numbr}}?');
    await afterClose.getByLabel('Ask "still fixed?" after (days)').fill('5');
    await afterClose.getByLabel('Reply to a poor rating (1 or 2 of 5)').fill('Sorry, {{requester.name}}. We will look again.');
    await afterClose.getByLabel('Reopen tickets rated 1 or 2 of 5').check();
    await afterClose.getByRole('button', { name: 'Save after-close messages' }).click();
    const csatError = afterClose.locator('[data-field=csatRequestMessage] [role=alert]');
    await csatError.waitFor();
    assert.match(await csatError.innerText(), /unknown variable "ticket\.numbr"/);
    assert.equal(await afterClose.getByLabel('Rating request').getAttribute('aria-invalid'), 'true');
    await afterClose.getByLabel('Rating request').fill('How did we do on {{ticket.number}}?');
    await afterClose.getByRole('button', { name: 'Save after-close messages' }).click();
    await afterClose.getByRole('status').filter({ hasText: 'After-close messages saved' }).waitFor();
    assert.deepEqual((await gql(server.url, admin, '{ afterCloseSettings { csatRequestEnabled csatRequestMessage postCloseFollowUpDays postCloseFollowUpMessage negativeCsatMessage negativeCsatReopen } }')).afterCloseSettings, {
      csatRequestEnabled: true, csatRequestMessage: 'How did we do on {{ticket.number}}?', postCloseFollowUpDays: 5, postCloseFollowUpMessage: null,
      negativeCsatMessage: 'Sorry, {{requester.name}}. We will look again.', negativeCsatReopen: true,
    });

    // Manager alerts: out of range on its field; empty switches an alert off.
    const alerts = page.getByRole('form', { name: 'Manager alerts' });
    await alerts.getByLabel('Queue depth (unassigned or escalated tickets over)').fill('25');
    await alerts.getByLabel('CSAT drop (points under last week)').fill('150');
    await alerts.getByLabel('Escalation spike (escalations over)').fill('');
    await alerts.getByLabel('Escalation spike window (minutes)').fill('30');
    await alerts.getByRole('button', { name: 'Save manager alerts' }).click();
    await alerts.locator('[data-field=csatDropPercent] [role=alert]').filter({ hasText: 'between 1 and 100' }).waitFor();
    await alerts.getByLabel('CSAT drop (points under last week)').fill('10');
    await alerts.getByRole('button', { name: 'Save manager alerts' }).click();
    await alerts.getByRole('status').filter({ hasText: 'Manager alerts saved' }).waitFor();
    assert.deepEqual((await gql(server.url, admin, '{ managerAlertSettings { queueDepth csatDropPercent escalationSpike escalationWindowMinutes } }')).managerAlertSettings, {
      queueDepth: 25, csatDropPercent: 10, escalationSpike: null, escalationWindowMinutes: 30,
    });
    // The SLA breach alert is edited on the SLA page; this page says how it is set.
    const { alertOnBreach } = (await gql(server.url, admin, '{ slaSettings { alertOnBreach } }')).slaSettings;
    assert.match(await page.getByTestId('sla-breach-alert').innerText(), alertOnBreach ? /managers are notified/ : /no notification/);
    // Saved values come back on a fresh load.
    await page.reload();
    assert.equal(await page.getByRole('form', { name: 'Manager alerts' }).getByLabel('Queue depth (unassigned or escalated tickets over)').inputValue(), '25');
    await screenshot(page, 'admin-alerts');

    // API tokens: the token shows once, works against the API, and stops working when revoked.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.getByRole('navigation').getByRole('link', { name: 'API tokens', exact: true }).click();
    await page.getByRole('heading', { name: 'API tokens', exact: true }).waitFor();
    const form = page.getByRole('form', { name: 'New API token form' });
    await form.getByRole('button', { name: 'Create API token' }).click();
    await form.locator('[data-field=name] [role=alert]').waitFor();
    await form.getByLabel('Token name').fill('CRM sync');
    await form.getByLabel(/Work on tickets/).check();
    await form.getByRole('button', { name: 'Create API token' }).click();
    const shown = page.getByRole('region', { name: 'New API token' });
    await shown.getByText('shown only once').waitFor();
    const token = await shown.getByLabel('API token').inputValue();
    assert.ok(token.length > 20, 'the token is shown');
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByRole('status').filter({ hasText: 'Copied to the clipboard' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token, 'the copy button copies the token');
    const listedTokens = (await gql(server.url, admin, '{ apiTokens { id name prefix scopes revokedAt } }')).apiTokens;
    const saved = listedTokens.find((t) => t.name === 'CRM sync');
    assert.ok(saved && token.startsWith(saved.prefix), 'the listed token is the one shown');
    assert.deepEqual(saved.scopes.sort(), ['service-desk.manage', 'service-desk.view']);
    assert.equal(typeof (await gql(server.url, token, '{ tickets(first: 1) { totalCount } }')).tickets.totalCount, 'number', 'the token works');
    const row = page.getByRole('row', { name: /CRM sync/ });
    assert.match(await row.innerText(), new RegExp(`${saved.prefix}…`));
    await shown.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByText(token).count() + (await page.locator(`input[value="${token}"]`).count()), 0, 'the token is gone once dismissed');
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Revoke CRM sync' }).click();
    await row.getByText(/^Revoked/).waitFor();
    const revoked = (await gql(server.url, admin, '{ apiTokens { name revokedAt } }')).apiTokens.find((t) => t.name === 'CRM sync');
    assert.ok(revoked.revokedAt, 'revoked through the API');
    await assert.rejects(gql(server.url, token, '{ tickets(first: 1) { totalCount } }'), /UNAUTHENTICATED/);
    assert.deepEqual(problems, []);
    await screenshot(page, 'admin-api-tokens');
  } finally {
    await b.close();
  }
});

test('a customer reply appears on the open ticket detail without a reload; replies carry attachments', async () => {
  const token = await customerToken(server.url, CUSTOMER);
  const { createMyTicket } = await gql(server.url, token, 'mutation { createMyTicket(subject: "Live thread check", description: "First message") { id number } }');
  const b = await newBrowser();
  const { page } = b;
  try {
    await signIn(page, server.url, AGENT);
    await page.getByTestId('ticket-card').first().waitFor();
    await page.goto(`${server.url}/tickets/${createMyTicket.number}`);
    await page.getByRole('heading', { name: 'Live thread check' }).waitFor();
    await page.evaluate(() => (window.__noReload = true));
    await page.locator('html[data-live=on]').waitFor({ state: 'attached' });
    await gql(server.url, token, 'mutation($id: ID!) { replyToMyTicket(ticketId: $id, body: "Second message, sent while you watched") { id } }', { id: createMyTicket.id });
    const entry = page.locator('[data-testid=entry]').filter({ hasText: 'Second message, sent while you watched' });
    await entry.waitFor({ timeout: 5000 });
    assert.match(await entry.innerText(), /Requester/);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');

    // `r` jumps to the reply box.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('r');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-shortcut')), 'reply');

    // A reply with an attachment (a multipart GraphQL request) lists the file on the ticket.
    await page.getByLabel(/^Reply \(the requester/).fill('Here is the log you asked for.');
    await page.getByLabel('Attachments').setInputFiles({ name: 'vpn-log.txt', mimeType: 'text/plain', buffer: Buffer.from('12:00 disconnect\n') });
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.locator('[data-testid=entry]').filter({ hasText: 'Here is the log you asked for.' }).getByRole('button', { name: 'vpn-log.txt' }).waitFor();
    await page.getByRole('tab', { name: 'Attachments (1)' }).click();
    await page.getByRole('button', { name: 'vpn-log.txt' }).waitFor();
    await screenshot(page, 'live-entry-appears');
  } finally {
    await b.close();
  }
});

test('insights: charts of the demo data with table views, period switching and a CSV download', async () => {
  const b = await newBrowser();
  const { page } = b;
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  try {
    const token = await staffToken(server.url, SUPERVISOR);
    const Q = 'query($p: InsightPeriod!) { insights(period: $p) { from to opened closed days { date opened closed } } }';
    // The job runner rolls the demo's tickets up on its first ticks.
    let week = await gql(server.url, token, Q, { p: 'LAST_7_DAYS' });
    for (let i = 0; i < 100 && week.insights.opened === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      week = await gql(server.url, token, Q, { p: 'LAST_7_DAYS' });
    }
    await signIn(page, server.url, SUPERVISOR);
    await page.getByTestId('ticket-card').first().waitFor();
    await page.getByRole('navigation').getByRole('link', { name: 'Insights', exact: true }).click();
    await page.getByRole('heading', { name: 'Insights', exact: true }).waitFor();
    await page.getByText(`${week.insights.from} to ${week.insights.to}`).waitFor();
    assert.ok((await page.locator('figure.chart svg[role=img]').count()) >= 5, 'every chart is drawn');
    const opened = page.locator('.tile', { hasText: 'Opened' }).locator('.n');
    assert.equal(await opened.innerText(), String(week.insights.opened));
    assert.match(await page.locator('.tile', { hasText: 'Bot deflection' }).innerText(), /No data yet/);

    await page.getByLabel('Period').selectOption({ label: 'Last 30 days' });
    const month = await gql(server.url, token, Q, { p: 'LAST_30_DAYS' });
    await page.getByText(`${month.insights.from} to ${month.insights.to}`).waitFor();

    const summary = page.locator('summary', { hasText: /^Table: Tickets per day$/ });
    await summary.click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('details').filter({ has: summary }).getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    mkdirSync(DOWNLOADS, { recursive: true });
    const file = join(DOWNLOADS, download.suggestedFilename());
    await download.saveAs(file);
    assert.equal(download.suggestedFilename(), `insights-days-${month.insights.from}_${month.insights.to}.csv`);
    const rows = parseCsv(readFileSync(file, 'utf8'));
    assert.deepEqual(rows[0].slice(0, 3), ['Date', 'Opened', 'Closed']);
    assert.deepEqual(
      rows.slice(1).map((r) => [r[0], Number(r[1]), Number(r[2])]),
      month.insights.days.map((d) => [d.date, d.opened, d.closed]),
    );
    assert.deepEqual(problems, []);
    await screenshot(page, 'supervisor-insights');
  } finally {
    await b.close();
  }
});
