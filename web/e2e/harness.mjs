// Browser-test harness: starts a real `switchboard serve --demo` on SQLite in a temporary data
// dir on a free port, serving the built bundle, and drives Debian's Chromium with playwright-core.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENSHOTS = join(web, 'test-results', 'screenshots');
export const DOWNLOADS = join(web, 'test-results', 'downloads');

/**
 * Starts the server (with `extraEnv` added to its environment); resolves with `{ url, stop }`
 * once it prints its listening line.
 */
export async function startServer(extraEnv = {}) {
  const bin = process.env.SWITCHBOARD_BIN;
  if (!bin || !existsSync(bin)) throw new Error(`set SWITCHBOARD_BIN to the built switchboard binary (got ${bin})`);
  const dist = join(web, 'dist');
  if (!existsSync(join(dist, 'index.html'))) throw new Error('build the bundle first: npm run build');
  const data = mkdtempSync(join(tmpdir(), 'switchboard-browser-'));
  // SQLite in the temporary data dir, whatever database the environment names.
  // The tests' SMTP sink listens on loopback: allowed the way an operator would allow it.
  const env = {
    ...process.env,
    SWITCHBOARD_WEB_DIR: dist,
    SWITCHBOARD_LOG: process.env.SWITCHBOARD_LOG ?? 'warn',
    SWITCHBOARD_OUTBOUND_ALLOW: '127.0.0.0/8,::1',
    ...extraEnv,
  };
  delete env.DATABASE_URL;
  const child = spawn(bin, ['--data-dir', data, 'serve', '--demo', '--listen', '127.0.0.1:0', '--stop-on-stdin-eof'], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('switchboard did not start within 60 s')), 60000);
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/Switchboard listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on('exit', (code) => fail(new Error(`switchboard exited with ${code}`)));
  });
  return {
    url,
    /** Loads a seed file (an object in `switchboard seed`'s format) into the server's database. */
    seed(contents) {
      const file = join(data, 'extra-seed.json');
      writeFileSync(file, JSON.stringify(contents));
      execFileSync(bin, ['--data-dir', data, 'seed', '--file', file], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    },
    async stop() {
      child.stdin.end();
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** A fresh Chromium profile (its own user-data-dir) with downloads allowed. */
export async function newBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'switchboard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10000);
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Sends a GraphQL request; throws on errors. */
export async function gql(url, token, query, variables = {}) {
  const r = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export const ADMIN = { email: 'admin@demo.switchboard.test', password: 'demo-admin' };
export const AGENT = { email: 'agent@demo.switchboard.test', password: 'demo-agent', name: 'Alex Agent' };
export const SUPERVISOR = { email: 'supervisor@demo.switchboard.test', password: 'demo-supervisor', name: 'Sam Supervisor' };
export const CUSTOMER = { email: 'customer@example.com', password: 'demo-customer' };
export const OTHER_CUSTOMER = { email: 'dan@example.org', password: 'demo-customer' };

export async function staffToken(url, who) {
  return (await gql(url, null, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: who.email, p: who.password })).login.token;
}

export async function customerToken(url, who) {
  return (await gql(url, null, 'mutation($e: String!, $p: String!) { customerLogin(email: $e, password: $p) { token } }', { e: who.email, p: who.password })).customerLogin.token;
}

/** Signs in on the helpdesk's login page. */
export async function signIn(page, url, who) {
  await page.goto(`${url}/`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Starts Debian's aiosmtpd as an SMTP sink on a free port, writing what it receives into a
 * Maildir; resolves with `{ port, messages(), stop }` once it accepts connections.
 */
export async function startSmtpSink() {
  const port = await new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-smtp-'));
  const maildir = join(dir, 'maildir');
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const child = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`aiosmtpd exited with ${child.exitCode} (apt-get install python3-aiosmtpd)`);
    // A greeting, not a bare connect: another process may hold the port we were handed.
    const up = await new Promise((ok) => {
      const c = connect(port, '127.0.0.1');
      c.setTimeout(2000, () => (c.destroy(), ok(false)));
      c.once('data', (d) => (c.end(), ok(d.toString().startsWith('220 '))));
      c.on('error', () => ok(false));
      // Closed without a word (a port's holder that is not SMTP): not up, try again.
      c.on('close', () => ok(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error('aiosmtpd did not start within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    /** The raw messages received so far. */
    messages() {
      const folder = join(maildir, 'new');
      if (!existsSync(folder)) return [];
      return readdirSync(folder).map((f) => readFileSync(join(folder, f), 'latin1'));
    },
    async stop() {
      child.kill();
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The decoded text of every part of a raw MIME message (base64 and quoted-printable undone). */
export function mimeText(raw) {
  const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
  return parts
    .map((part) => {
      const [head, ...rest] = part.split(/\r?\n\r?\n/);
      const body = rest.join('\n\n');
      const cte = /content-transfer-encoding:\s*([\w-]+)/i.exec(head)?.[1]?.toLowerCase();
      if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
      if (cte === 'quoted-printable') {
        return Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
      }
      return body;
    })
    .join('\n');
}

/**
 * Starts the test kit's Discord double (`discord-double`, built beside the switchboard binary)
 * with its guild; resolves with the ids it printed, `env` for the server (token, application id
 * and `SWITCHBOARD_DISCORD_API_URL`), `control(path, body?)` for its control API, and `stop`.
 */
export async function startDiscordDouble() {
  const bin = process.env.DISCORD_DOUBLE_BIN ?? join(dirname(process.env.SWITCHBOARD_BIN ?? ''), 'discord-double');
  if (!existsSync(bin)) throw new Error(`build the Discord double first: cargo build --workspace --bin discord-double (looked for ${bin})`);
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const info = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('the Discord double did not start within 20 s')), 20000);
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const line = buf.split('\n')[0];
      if (buf.includes('\n')) {
        clearTimeout(timer);
        ok(JSON.parse(line));
      }
    });
    child.on('exit', (code) => fail(new Error(`the Discord double exited with ${code}`)));
  });
  return {
    ...info,
    env: {
      SWITCHBOARD_DISCORD_TOKEN: info.token,
      SWITCHBOARD_DISCORD_APPLICATION_ID: info.applicationId,
      SWITCHBOARD_DISCORD_API_URL: info.url,
    },
    /** GETs (or with a body, POSTs) the double's control API; resolves with the JSON answer. */
    async control(path, body) {
      const r = await fetch(`${info.control}${path}`, body === undefined ? {} : {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      return r.json();
    },
    async stop() {
      child.stdin.end();
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
    },
  };
}
