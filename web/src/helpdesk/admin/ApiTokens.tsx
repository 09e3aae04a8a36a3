// Admin page: integrator API tokens. Errors the server ties to a field (`extensions.field`) show
// under that field.
import { useState, type FormEvent } from 'react';
import { ApiError, gql } from '../../api/client';
import type { ApiToken, CreatedApiToken } from '../../api/schema';
import { formatDate } from '../../lib/format';
import { ErrorText } from '../../lib/ui';
import { Feedback, FieldRow, formError, Page, useMutation, useQuery } from './shared';

const TOKENS = gql`query AdminApiTokens { apiTokens { id name prefix scopes createdAt lastUsedAt revokedAt } }`;
const CREATE_TOKEN = gql`
  mutation CreateApiToken($name: String!, $scopes: [String!]!) {
    createApiToken(name: $name, scopes: $scopes) { token apiToken { id name prefix } }
  }
`;
const REVOKE_TOKEN = gql`mutation RevokeApiToken($id: ID!) { revokeApiToken(id: $id) }`;

const SCOPES: [string, string][] = [
  ['service-desk.view', 'View tickets'],
  ['service-desk.manage', 'Work on tickets'],
  ['service-desk.reassign', 'Reassign tickets'],
  ['service-desk.admin', 'Administer'],
];

function NewToken({ token, onDone }: { token: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'' | 'yes' | 'no'>('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token);
      setCopied('yes');
    } catch {
      // No clipboard access (plain http, permissions): select the text for the admin to copy.
      (document.getElementById('new-api-token') as HTMLInputElement | null)?.select();
      setCopied('no');
    }
  };
  return (
    <div className="panel form" role="region" aria-label="New API token" style={{ marginTop: 12 }}>
      <p className="error" style={{ margin: 0 }}>Copy this token now: it is shown only once and cannot be shown again.</p>
      <div className="row">
        <input id="new-api-token" aria-label="API token" readOnly value={token} style={{ flex: 1, fontFamily: 'monospace' }} onFocus={(e) => e.target.select()} />
        <button type="button" className="primary" onClick={() => void copy()}>Copy</button>
        <button type="button" onClick={onDone}>Done</button>
      </div>
      {copied === 'yes' && <p className="ok" role="status" style={{ margin: 0 }}>Copied to the clipboard.</p>}
      {copied === 'no' && <p className="muted" role="status" style={{ margin: 0 }}>Could not copy: the token is selected, copy it with Ctrl+C.</p>}
    </div>
  );
}

export function ApiTokensPage() {
  const { data, error, reload } = useQuery<{ apiTokens: ApiToken[] }>(TOKENS);
  const m = useMutation();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['service-desk.view']);
  const [created, setCreated] = useState<string | null>(null);
  const create = (e: FormEvent) => {
    e.preventDefault();
    setCreated(null);
    void m.run<{ createApiToken: CreatedApiToken }>(CREATE_TOKEN, { name, scopes }, async (d) => {
      setCreated(d.createApiToken.token);
      setName('');
      setScopes(['service-desk.view']);
      await reload();
    }, 'API token created');
  };
  const revoke = (t: ApiToken) => {
    if (!window.confirm(`Revoke the API token "${t.name}"? Integrations using it stop working at once.`)) return;
    void m.run(REVOKE_TOKEN, { id: t.id }, reload, 'API token revoked');
  };
  const scopeError = m.error instanceof ApiError && m.error.field?.startsWith('scopes') ? m.error : null;
  return (
    <Page title="API tokens">
      <p className="muted">Tokens let integrations call the GraphQL API (<code>Authorization: Bearer …</code>) with the permissions you pick.</p>
      <ErrorText error={error} />
      <form className="panel form" aria-label="New API token form" onSubmit={create} noValidate>
        <FieldRow label="Token name" field="name" error={m.error}>
          {(a) => <input {...a} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. CRM sync" />}
        </FieldRow>
        <fieldset className="row" style={{ border: 'none', padding: 0 }} aria-invalid={!!scopeError}>
          <legend className="muted">Permissions</legend>
          {SCOPES.map(([key, label]) => (
            <label className="inline" key={key}>
              <input type="checkbox" checked={scopes.includes(key)} onChange={(e) => setScopes(e.target.checked ? [...scopes, key] : scopes.filter((x) => x !== key))} />
              {label} <code className="muted">{key}</code>
            </label>
          ))}
        </fieldset>
        {scopeError && <p className="error" role="alert" data-field="scopes">{scopeError.message}</p>}
        <Feedback error={scopeError ? null : formError(m.error, ['name'])} notice={created ? '' : m.notice} />
        <div className="row"><button className="primary">Create API token</button></div>
      </form>
      {created && <NewToken token={created} onDone={() => setCreated(null)} />}
      <table style={{ marginTop: 12 }} aria-label="API tokens">
        <thead><tr><th>Name</th><th>Token</th><th>Permissions</th><th>Created</th><th>Last used</th><th /></tr></thead>
        <tbody>
          {data?.apiTokens.length === 0 && <tr><td colSpan={6} className="muted">No API tokens yet.</td></tr>}
          {data?.apiTokens.map((t) => (
            <tr key={t.id} data-token-id={t.id}>
              <td>{t.name}</td>
              <td><code>{t.prefix}…</code></td>
              <td className="muted">{t.scopes.join(', ')}</td>
              <td>{formatDate(t.createdAt)}</td>
              <td>{t.lastUsedAt ? formatDate(t.lastUsedAt) : 'Never'}</td>
              <td>
                {t.revokedAt ? (
                  <span className="badge status-CLOSED">Revoked {formatDate(t.revokedAt)}</span>
                ) : (
                  <button type="button" className="danger" aria-label={`Revoke ${t.name}`} onClick={() => revoke(t)}>Revoke</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
