// Admin page: webhooks, their signing secrets and recent deliveries.
import { useState, type FormEvent } from 'react';
import { gql } from '../../api/client';
import type { Webhook, WebhookDelivery, WebhookEvent } from '../../api/schema';
import { WebhookEventValues } from '../../api/schema';
import { formatDate } from '../../lib/format';
import { ErrorText } from '../../lib/ui';
import { Feedback, Page, useMutation, useQuery } from './shared';

const WEBHOOKS = gql`
  query AdminWebhooks {
    webhooks { id name url enabled events createdAt updatedAt version deliveries(first: 20) { id event status attempts responseStatus latencyMs lastError createdAt deliveredAt nextAttemptAt } }
  }
`;
const SAVE_WEBHOOK = gql`mutation SaveWebhook($id: ID, $input: WebhookInput!) { saveWebhook(id: $id, input: $input) { secret webhook { id } } }`;
const DELETE_WEBHOOK = gql`mutation DeleteWebhook($id: ID!) { deleteWebhook(id: $id) }`;
const TEST_WEBHOOK = gql`mutation TestWebhook($id: ID!) { sendTestWebhook(id: $id) }`;

export function WebhooksPage() {
  const { data, error, reload } = useQuery<{ webhooks: (Webhook & { deliveries: WebhookDelivery[] })[] }>(WEBHOOKS);
  const m = useMutation();
  const [f, setF] = useState({ name: '', url: '', events: ['TICKET_OPENED'] as WebhookEvent[] });
  const [secret, setSecret] = useState<string | null>(null);
  const create = (e: FormEvent) => {
    e.preventDefault();
    void m.run<{ saveWebhook: { secret: string | null } }>(SAVE_WEBHOOK, { input: f }, async (d) => {
      setSecret(d.saveWebhook.secret);
      setF({ name: '', url: '', events: ['TICKET_OPENED'] });
      await reload();
    }, 'Webhook created');
  };
  return (
    <Page title="Webhooks">
      <ErrorText error={error} />
      <form className="panel form" onSubmit={create} aria-label="New webhook">
        <div className="grid2">
          <label>Name<input required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} /></label>
          <label>URL<input required type="url" value={f.url} onChange={(e) => setF({ ...f, url: e.target.value })} /></label>
        </div>
        <fieldset className="row" style={{ border: 'none', padding: 0 }}>
          <legend className="muted">Events</legend>
          {WebhookEventValues.map((ev) => (
            <label className="inline" key={ev}>
              <input type="checkbox" checked={f.events.includes(ev)} onChange={(e) => setF({ ...f, events: e.target.checked ? [...f.events, ev] : f.events.filter((x) => x !== ev) })} />
              {ev.toLowerCase().replace('_', '.')}
            </label>
          ))}
        </fieldset>
        <div className="row"><button className="primary">Create webhook</button></div>
        <Feedback error={m.error} notice={m.notice} />
        {secret && <p className="ok">Signing secret (shown once): <code>{secret}</code></p>}
      </form>
      {data?.webhooks.map((w) => (
        <div className="panel" key={w.id} style={{ marginTop: 12 }} aria-label={`Webhook ${w.name}`}>
          <div className="row spread">
            <div>
              <strong>{w.name}</strong> {!w.enabled && <span className="badge status-CLOSED">Disabled</span>}
              <div className="muted">{w.url} · {w.events.map((e) => e.toLowerCase().replace('_', '.')).join(', ')}</div>
            </div>
            <div className="row">
              <button type="button" onClick={() => void m.run(SAVE_WEBHOOK, { id: w.id, input: { name: w.name, url: w.url, events: w.events, enabled: !w.enabled, version: w.version } }, reload)}>{w.enabled ? 'Disable' : 'Enable'}</button>
              <button type="button" onClick={() => void m.run(TEST_WEBHOOK, { id: w.id }, reload, 'Test delivery queued')}>Send test</button>
              <button type="button" onClick={() => void reload()}>Refresh log</button>
              <button type="button" className="danger" onClick={() => void m.run(DELETE_WEBHOOK, { id: w.id }, reload, 'Webhook deleted')}>Delete</button>
            </div>
          </div>
          <table style={{ marginTop: 8 }} aria-label="Delivery log">
            <thead><tr><th>When</th><th>Event</th><th>Status</th><th>Attempts</th><th>HTTP</th><th>Latency</th><th>Error</th></tr></thead>
            <tbody>
              {w.deliveries.length === 0 && <tr><td colSpan={7} className="muted">No deliveries yet.</td></tr>}
              {w.deliveries.map((d) => (
                <tr key={d.id}>
                  <td>{formatDate(d.createdAt)}</td>
                  <td>{d.event}</td>
                  <td><span className={`badge ${d.status === 'DELIVERED' ? 'status-RESOLVED' : d.status === 'FAILED' ? 'priority-URGENT' : 'status-IN_PROGRESS'}`}>{d.status.toLowerCase()}</span>{d.nextAttemptAt && <div className="muted">next {formatDate(d.nextAttemptAt)}</div>}</td>
                  <td>{d.attempts}</td>
                  <td>{d.responseStatus ?? '—'}</td>
                  <td>{d.latencyMs != null ? `${d.latencyMs} ms` : '—'}</td>
                  <td>{d.lastError ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </Page>
  );
}
