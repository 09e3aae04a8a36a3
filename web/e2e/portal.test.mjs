// Browser test of the portal's one-time sign-in link: the customer asks for it in the portal,
// the server's job runner emails it over SMTP to a real aiosmtpd sink (Debian's
// python3-aiosmtpd), and the link from that email signs the customer in, once. Then a customer
// changes their password and signs out everywhere from "Your account".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, CUSTOMER, OTHER_CUSTOMER, customerToken, gql, mimeText, newBrowser, screenshot, staffToken, startServer, startSmtpSink } from './harness.mjs';

let server;
let sink;

const SAVE_MAILBOX = `mutation($input: EmailMailboxInput!) { saveEmailMailbox(input: $input) { mailbox { id } } }`;

before(async () => {
  sink = await startSmtpSink();
  server = await startServer();
  // The demo workspace sends through the sink.
  const admin = await staffToken(server.url, ADMIN);
  await gql(server.url, admin, SAVE_MAILBOX, {
    input: { name: 'Demo Support', address: 'support@demo.switchboard.test', smtpHost: '127.0.0.1', smtpPort: sink.port, smtpSecurity: 'plain' },
  });
});

after(async () => {
  await server?.stop();
  await sink?.stop();
});


/** The sign-in emails the sink holds, with their decoded text. */
function signInMails() {
  return sink
    .messages()
    .filter((raw) => /^Subject: Your sign-in link/m.test(raw))
    .map((raw) => ({ raw, to: /^To: (.*)$/m.exec(raw)?.[1] ?? '', text: mimeText(raw) }));
}

async function waitFor(what, check, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = check();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the sink holds: ${sink.messages().map((m) => /^Subject: .*$/m.exec(m)?.[0]).join(' | ') || 'nothing'}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a customer signs in with a one-time link from their email, and the link works once', async () => {
  const mine = await customerToken(server.url, CUSTOMER);
  const numbers = (await gql(server.url, mine, '{ myTickets(first: 100) { nodes { number } } }')).myTickets.nodes.map((t) => t.number);

  const b = await newBrowser();
  const { page } = b;
  try {
    await page.goto(`${server.url}/portal`);
    await page.getByRole('button', { name: 'No password? Email me a sign-in link' }).click();
    // An address that is nobody's gets the same answer as a customer's.
    await page.getByLabel('Email').fill('nobody@example.com');
    await page.getByRole('button', { name: 'Email me a sign-in link', exact: true }).click();
    const unknownNotice = await page.getByRole('status').innerText();
    assert.match(unknownNotice, /If nobody@example.com belongs to a customer of ours, a sign-in link is on its way/);
    await page.getByLabel('Email').fill(CUSTOMER.email);
    await page.getByRole('button', { name: 'Send another link' }).click();
    await page.getByRole('status').filter({ hasText: CUSTOMER.email }).waitFor();
    assert.equal((await page.getByRole('status').innerText()).replace(CUSTOMER.email, 'X'), unknownNotice.replace('nobody@example.com', 'X'));

    const [mail] = await waitFor('the sign-in email in the SMTP sink', () => {
      const mine = signInMails().filter((m) => m.to.includes(CUSTOMER.email));
      return mine.length > 0 && mine;
    });
    const link = new RegExp(`${server.url.replace(/[.:/]/g, '\\$&')}/portal/sign-in#sbl_[A-Za-z0-9_-]+`).exec(mail.text)?.[0];
    assert.ok(link, `the email holds a sign-in link to this server:\n${mail.text}`);
    // Time for any stray mail to arrive: none went to the unknown address.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(signInMails().filter((m) => m.to.includes(CUSTOMER.email)).length, 1, 'one sign-in email to the customer');
    assert.equal(signInMails().filter((m) => m.to.includes('nobody@example.com')).length, 0, 'none to an unknown address');

    // Opening the link signs in and takes the token out of the address bar.
    await page.goto(link);
    await page.getByRole('heading', { name: 'My tickets' }).waitFor();
    await page.getByTestId('my-ticket').first().waitFor();
    const listed = await page.getByTestId('my-ticket').evaluateAll((els) => els.map((e) => e.dataset.number));
    assert.deepEqual(listed.sort(), [...numbers].sort(), 'signed in as that customer: exactly their tickets');
    assert.equal(new URL(page.url()).pathname, '/portal/');
    assert.ok(!page.url().includes('sbl_'), page.url());
    await screenshot(page, 'portal-signed-in-by-link');

    // The same link a second time, in a signed-out browser: refused, with a way to ask again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto(link);
    await page.getByRole('alert').filter({ hasText: 'already used' }).waitFor();
    assert.equal(await page.getByTestId('my-ticket').count(), 0);
    await screenshot(page, 'portal-used-sign-in-link');
    // Asking for a new one opens the form in link mode.
    await page.getByRole('link', { name: 'Ask for a new link' }).click();
    await page.getByRole('button', { name: 'Email me a sign-in link', exact: true }).waitFor();
  } finally {
    await b.close();
  }
});

test('a customer changes their password and signs out everywhere, ending their other sessions', async () => {
  const ME = '{ me { name } }';
  const otherDevice = await customerToken(server.url, OTHER_CUSTOMER);
  await gql(server.url, otherDevice, ME);
  const b = await newBrowser();
  const { page } = b;
  try {
    await page.goto(`${server.url}/portal`);
    await page.getByLabel('Email').fill(OTHER_CUSTOMER.email);
    await page.getByLabel('Password').fill(OTHER_CUSTOMER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Your account' }).click();

    const form = page.getByRole('form', { name: 'Change password' });
    // A wrong current password is refused under that field's name; nothing changes.
    await form.getByLabel('Current password').fill('not my password');
    await form.getByLabel('New password', { exact: true }).fill('my new portal password');
    await form.getByLabel('New password again').fill('my new portal password');
    await form.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('alert').filter({ hasText: 'not your current password' }).waitFor();
    await gql(server.url, otherDevice, ME);

    await form.getByLabel('Current password').fill(OTHER_CUSTOMER.password);
    await form.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').filter({ hasText: 'Password saved' }).waitFor();
    await screenshot(page, 'portal-password-changed');
    // The other device is signed out; this browser carries on with its new session.
    await assert.rejects(gql(server.url, otherDevice, ME), /UNAUTHENTICATED/);
    await page.getByRole('link', { name: 'My Tickets' }).click();
    await page.getByTestId('my-ticket').first().waitFor();
    await assert.rejects(customerToken(server.url, OTHER_CUSTOMER), /UNAUTHENTICATED/);
    const fresh = await customerToken(server.url, { email: OTHER_CUSTOMER.email, password: 'my new portal password' });

    // Signing out everywhere ends this browser's session and the one just opened elsewhere.
    await page.getByRole('link', { name: 'Your account' }).click();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await assert.rejects(gql(server.url, fresh, ME), /UNAUTHENTICATED/);
    await screenshot(page, 'portal-signed-out-everywhere');
  } finally {
    await b.close();
  }
});

test('a customer who signs in by link sets a first password on "Your account"', async () => {
  const admin = await staffToken(server.url, ADMIN);
  const email = 'link.only@example.net';
  await gql(server.url, admin, 'mutation($e: String!) { createContact(input: { name: "Lin Konly", email: $e }) { id } }', { e: email });
  await gql(server.url, null, 'mutation($e: String!) { requestCustomerSignInLink(email: $e) }', { e: email });
  const mail = await waitFor('the sign-in email for the new customer', () => signInMails().find((m) => m.to.includes(email)));
  const link = /https?:\/\/\S+\/portal\/sign-in#sbl_[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
  assert.ok(link, mail.text);

  const b = await newBrowser();
  const { page } = b;
  try {
    await page.goto(link);
    await page.getByRole('heading', { name: 'My tickets' }).waitFor();
    await page.getByRole('link', { name: 'Your account' }).click();
    // No current password to ask for: the form offers a first one.
    const form = page.getByRole('form', { name: 'Set a password' });
    await form.waitFor();
    assert.equal(await form.getByLabel('Current password').count(), 0);
    await form.getByText('current password is not needed').waitFor();
    await form.getByLabel('New password', { exact: true }).fill('lins first password');
    await form.getByLabel('New password again').fill('lins first password');
    await form.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('status').filter({ hasText: 'Password saved' }).waitFor();
    // From now on it is a password like any other: good for signing in, and changed (not set)
    // from here; the current one is asked for once the link's 15 minutes are over.
    await page.getByRole('form', { name: 'Change password' }).waitFor();
    await screenshot(page, 'portal-first-password-set');
    assert.ok(await customerToken(server.url, { email, password: 'lins first password' }));
  } finally {
    await b.close();
  }
});
