// Admin page: automation rules (JSON), checked by the server before they are saved.
import { useState } from 'react';
import { gql, request } from '../../api/client';
import type { AutomationRuleReport } from '../../api/schema';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Page, useQuery } from './shared';

const AUTOMATION = gql`query AdminAutomation { automationRulesVersion { version } automationRules }`;
const SAVE_AUTOMATION = gql`
  mutation SaveAutomation($rules: String!, $dropInvalid: Boolean, $version: Int) {
    saveAutomationRules(rules: $rules, dropInvalid: $dropInvalid, version: $version) { saved rules version { version } reports { index id accepted errors { code message field } } }
  }
`;

export function AutomationPage() {
  const s = useSession();
  const { data, error } = useQuery<{ automationRulesVersion: { version: number }; automationRules: string }>(AUTOMATION);
  // The version the shown rules were loaded at (then the one the last save took): sent with a save.
  const [version, setVersion] = useState<number | null>(null);
  const loaded = version ?? data?.automationRulesVersion.version ?? null;
  const [text, setText] = useState<string | null>(null);
  const [dropInvalid, setDropInvalid] = useState(false);
  const [result, setResult] = useState<{ saved: boolean; reports: AutomationRuleReport[] } | null>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const value = text ?? (data ? JSON.stringify(JSON.parse(data.automationRules), null, 2) : '');
  const save = async () => {
    try {
      JSON.parse(value);
    } catch (e) {
      setSaveError(new Error(`Not valid JSON: ${(e as Error).message}`));
      return;
    }
    try {
      const r = await request<{ saveAutomationRules: { saved: boolean; rules: string; version: { version: number }; reports: AutomationRuleReport[] } }>(s.token, SAVE_AUTOMATION, { rules: value, dropInvalid, version: loaded });
      setResult(r.saveAutomationRules);
      setSaveError(null);
      if (r.saveAutomationRules.saved) {
        setText(JSON.stringify(JSON.parse(r.saveAutomationRules.rules), null, 2));
        setVersion(r.saveAutomationRules.version.version);
      }
    } catch (e) {
      setSaveError(e);
    }
  };
  return (
    <Page title="Automation rules">
      <p className="muted">A JSON array of rules (triggers: ticket_opened, ticket_escalated, message_contains, csat_negative, sla_breach; actions: add_tag, escalate, assign_round_robin, set_priority, notify). The server validates every rule.</p>
      <ErrorText error={error} />
      <label>
        Rules (JSON)
        <textarea className="json" spellCheck={false} value={value} onChange={(e) => setText(e.target.value)} />
      </label>
      <div className="row" style={{ marginTop: 8 }}>
        <button className="primary" type="button" onClick={() => void save()}>Validate and save</button>
        <label className="inline"><input type="checkbox" checked={dropInvalid} onChange={(e) => setDropInvalid(e.target.checked)} /> Save the valid rules even if some are invalid</label>
      </div>
      <ErrorText error={saveError} />
      {result && (
        <div className="panel" style={{ marginTop: 12 }} aria-label="Validation report">
          <p className={result.saved ? 'ok' : 'error'} role="status">{result.saved ? 'Saved.' : 'Nothing saved: fix the rules marked below.'}</p>
          <table>
            <thead><tr><th>#</th><th>Rule</th><th>Result</th><th>Problems</th></tr></thead>
            <tbody>
              {result.reports.map((r) => (
                <tr key={r.index}>
                  <td>{r.index}</td>
                  <td>{r.id ?? '—'}</td>
                  <td>{r.accepted ? <span className="badge status-RESOLVED">Valid</span> : <span className="badge priority-URGENT">Invalid</span>}</td>
                  <td>{r.errors.map((e, i) => <div key={i}><code>{e.field}</code> {e.message}</div>)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
