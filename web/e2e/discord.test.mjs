// Browser tests of the Discord channel: the server runs with the test kit's Discord double as
// its Discord (`SWITCHBOARD_DISCORD_API_URL`), the production client connects to its gateway,
// and the tests act as the guild's people through the double's control API. An admin links the
// guild on the Discord page (a field error first) and sees the gateway's state; a member opens a
// ticket from the panel and an agent answers it in the helpdesk, and the double receives the
// reply in the ticket channel, then closes it and finds its transcript on the ticket; the admin
// unlinks the guild.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN, AGENT, gql, newBrowser, screenshot, signIn, staffToken, startDiscordDouble, startServer } from './harness.mjs';

let double;
let server;

/** Polls `check` (async) until it returns a truthy value; fails after `secs`. */
async function eventually(what, check, secs = 20) {
  const deadline = Date.now() + secs * 1000;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  double = await startDiscordDouble();
  server = await startServer(double.env);
  await eventually('the gateway to connect', async () => {
    const s = await double.control('/state');
    return s.identifies >= 1 && s.connections === 1;
  }, 60);
});

after(async () => {
  await server?.stop();
  await double?.stop();
});

/** The panel message the bot posted in the panel channel, if any. */
async function panelMessage() {
  const messages = await double.control(`/channels/${double.panelChannelId}/messages`);
  return messages.find((m) => m.author.id === double.botUserId && m.components?.length);
}

function buttonLabels(message) {
  return message.components.flatMap((row) => row.components.map((c) => c.label));
}

test('an admin links a Discord guild on the Discord page, with errors by field, and sees the gateway state', async () => {
  const b = await newBrowser();
  const { page } = b;
  try {
    await signIn(page, server.url, ADMIN);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Discord' }).click();
    await page.getByRole('heading', { name: 'Discord', exact: true }).waitFor();
    const gateway = page.getByRole('region', { name: 'Gateway' });
    await gateway.getByTestId('gateway-state').filter({ hasText: 'Connected' }).waitFor();
    // One bot serves every workspace: no guild shows until this workspace links one.
    assert.match(await gateway.getByLabel('Guilds on the gateway').innerText(), /none/);
    // Nothing linked: Pending, with the next step, and a one-time link code for /switchboard setup.
    const setup = page.getByRole('region', { name: 'Set up from Discord' });
    await setup.getByTestId('deployment-status').filter({ hasText: 'Pending' }).waitFor();
    assert.match(await setup.getByTestId('next-step').innerText(), /\/switchboard setup code:/);
    await setup.getByRole('button', { name: 'Create link code' }).click();
    assert.match(await setup.getByTestId('link-code').innerText(), /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);

    const form = page.getByRole('form', { name: 'Link a Discord guild' });
    await form.getByLabel('Guild id').fill(double.guildId);
    await form.getByLabel('Name', { exact: true }).fill('Acme Community');
    await form.getByLabel('Panel channel id').fill(double.panelChannelId);
    await form.getByLabel('Transcripts channel id').fill(double.transcriptsChannelId);
    await form.getByLabel('Staff role ids').fill(double.staffRoleId);
    const type = form.getByRole('group', { name: 'Ticket type 1' });
    await type.getByLabel('Label', { exact: true }).fill('Billing');
    await type.getByLabel('Key', { exact: true }).fill('billing');
    await type.getByLabel('Help topic').selectOption({ index: 1 });
    // A category given by name, not id: the error shows under that field, and nothing is linked.
    await type.getByLabel('Category id').fill('Tickets');
    await type.getByLabel('Ask for a subject').check();
    await form.getByRole('button', { name: 'Link guild' }).click();
    const categoryError = type.locator('[data-field="ticketTypes[0].categoryId"] [role=alert]');
    await categoryError.waitFor();
    assert.match(await categoryError.innerText(), /"Tickets" is not a Discord id/);
    assert.equal(await type.getByLabel('Category id').getAttribute('aria-invalid'), 'true');
    assert.equal(await panelMessage(), undefined, 'no panel was posted');

    await type.getByLabel('Category id').fill(double.categoryId);
    await form.getByRole('button', { name: 'Link guild' }).click();
    await form.getByRole('status').filter({ hasText: 'Guild linked' }).waitFor();
    const linked = page.getByRole('form', { name: 'Discord guild Acme Community' });
    await linked.getByTestId('panel-state').filter({ hasText: 'Panel posted' }).waitFor();
    // No staff review or learned tips channel yet: Partial, with the step /switchboard view gives.
    await linked.getByTestId('deployment-status').filter({ hasText: 'Partial' }).waitFor();
    assert.match(await linked.getByTestId('next-step').innerText(), /Run \/switchboard setup in Discord/);
    const panel = await panelMessage();
    assert.deepEqual(buttonLabels(panel), ['Billing'], 'the panel in Discord has the type\'s button');

    // The gateway state now lists the linked guild, as the gateway announced it.
    await gateway.getByRole('button', { name: 'Refresh' }).click();
    await gateway.getByLabel('Guilds on the gateway').filter({ hasText: `Acme Community (${double.guildId})` }).waitFor();

    // Editing the link updates the panel message in place.
    await linked.getByRole('group', { name: 'Ticket type 1' }).getByLabel('Label', { exact: true }).fill('Billing and invoices');
    await linked.getByRole('button', { name: 'Save guild' }).click();
    await linked.getByRole('status').filter({ hasText: 'Guild saved' }).waitFor();
    const edited = await eventually('the panel to be edited', async () => {
      const m = await panelMessage();
      return buttonLabels(m)[0] === 'Billing and invoices' && m;
    });
    assert.equal(edited.id, panel.id, 'the same panel message, edited');
    await screenshot(page, 'discord-guild-linked');
  } finally {
    await b.close();
  }
});

test('an agent answers a Discord ticket in the helpdesk and the double receives the message', async () => {
  const panel = await panelMessage();
  assert.ok(panel, 'the guild is linked (previous test)');
  // Wendy clicks the panel's button, fills in the intake form, and gets her ticket channel.
  const { interactionId: click } = await double.control('/click', {
    channelId: double.panelChannelId, messageId: panel.id, userId: double.customerUserId, customId: 'sb:open:billing',
  });
  const modal = await eventually('the intake form', async () => (await double.control(`/interactions/${click}/callbacks`))[0]);
  assert.equal(modal.type, 9, 'the intake form (a modal)');
  const { interactionId: submit } = await double.control('/modal', {
    channelId: double.panelChannelId, userId: double.customerUserId, customId: modal.data.custom_id,
    fields: [['subject', 'Wrong VAT number on my invoice']],
  });
  const told = await eventually('the ticket channel', async () => (await double.control(`/interactions/${submit}/follow-ups`))[0]?.content);
  const channel = /^Your ticket is open: <#(\d+)>$/.exec(told)?.[1];
  assert.ok(channel, told);
  await double.control('/messages', { channelId: channel, userId: double.customerUserId, content: 'Invoice 1042 has our old VAT number.' });

  const agentToken = await staffToken(server.url, AGENT);
  const ticket = await eventually('the ticket in the helpdesk', async () => {
    const d = await gql(server.url, agentToken, '{ tickets(first: 20) { nodes { id number subject source } } }');
    return d.tickets.nodes.find((t) => t.subject === 'Wrong VAT number on my invoice');
  });
  assert.equal(ticket.source, 'DISCORD');

  const b = await newBrowser();
  const { page } = b;
  try {
    await signIn(page, server.url, AGENT);
    await page.getByRole('heading', { name: 'Tickets' }).waitFor();
    await page.goto(`${server.url}/tickets/${ticket.number}`);
    await page.getByRole('heading', { name: 'Wrong VAT number on my invoice' }).waitFor();
    await page.locator('[data-testid=entry]').filter({ hasText: 'Invoice 1042 has our old VAT number.' }).waitFor();
    const answer = 'Thanks! We will reissue invoice 1042 with your new VAT number today.';
    await page.getByLabel(/^Reply \(the requester/).fill(answer);
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.getByRole('status').filter({ hasText: 'Reply sent' }).waitFor();
    await page.locator('[data-testid=entry][data-kind=REPLY]').filter({ hasText: answer }).waitFor();

    // The double received it in the ticket channel, from the bot, with the agent's name, once.
    const sent = await eventually('the reply in the ticket channel', async () => {
      const messages = await double.control(`/channels/${channel}/messages`);
      const mine = messages.filter((m) => m.author.id === double.botUserId && m.content.endsWith(answer));
      return mine.length && mine;
    });
    await new Promise((r) => setTimeout(r, 500));
    const messages = await double.control(`/channels/${channel}/messages`);
    assert.equal(messages.filter((m) => m.content.endsWith(answer)).length, 1, 'delivered once');
    assert.equal(sent[0].content, `**${AGENT.name}**\n${answer}`);
    await screenshot(page, 'discord-ticket-answered');

    // Closed in the helpdesk: the channel's transcript is archived and offered on the ticket,
    // as HTML and as text, and the HTML holds the conversation.
    await page.getByRole('button', { name: 'Close…' }).click();
    await page.getByRole('button', { name: 'Close ticket' }).click();
    const transcript = page.getByRole('region', { name: 'Transcript' });
    await transcript.waitFor({ timeout: 30_000 });
    await transcript.getByRole('button', { name: 'Transcript (text)' }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      transcript.getByRole('button', { name: 'Transcript (HTML)' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^transcript-.*\.html$/);
    const html = readFileSync(await download.path(), 'utf8');
    assert.ok(html.includes('Invoice 1042 has our old VAT number.') && html.includes(answer), 'the conversation');
    await screenshot(page, 'discord-ticket-transcript');
  } finally {
    await b.close();
  }
});

test('an admin unlinks the Discord guild; its tickets stay', async () => {
  const b = await newBrowser();
  const { page } = b;
  try {
    await signIn(page, server.url, ADMIN);
    await page.getByRole('heading', { name: 'Tickets' }).waitFor();
    await page.goto(`${server.url}/admin/discord`);
    const linked = page.getByRole('form', { name: 'Discord guild Acme Community' });
    await linked.waitFor();
    page.once('dialog', (d) => void d.accept());
    await linked.getByRole('button', { name: 'Unlink' }).click();
    await linked.waitFor({ state: 'detached' });
    await page.getByRole('region', { name: 'Gateway' }).getByLabel('Guilds on the gateway').filter({ hasText: 'none' }).waitFor();
    const adminToken = await staffToken(server.url, ADMIN);
    assert.deepEqual((await gql(server.url, adminToken, '{ discordGuilds { id } }')).discordGuilds, []);
    const d = await gql(server.url, adminToken, '{ tickets(first: 20) { nodes { subject } } }');
    assert.ok(d.tickets.nodes.some((t) => t.subject === 'Wrong VAT number on my invoice'), 'the ticket stays');
  } finally {
    await b.close();
  }
});
