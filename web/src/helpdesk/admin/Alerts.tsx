// Admin page: alerts and follow-ups (inactivity, after-close messages, manager alerts). Errors the
// server ties to a field (`extensions.field`) show under that field. Each form sends the version it
// loaded (and takes the one its save returns), so a save over another admin's newer one is refused,
// naming them, instead of undoing it.
import { useState, type FormEvent } from 'react';
import { gql } from '../../api/client';
import type { AfterCloseSettings, InactivitySettings, ManagerAlertSettings, SlaSettings } from '../../api/schema';
import { Link } from '../../lib/router';
import { ErrorText } from '../../lib/ui';
import { Feedback, FieldRow, formError, Page, useMutation, useQuery } from './shared';

/** A number input's text as the API's value: empty is null (the feature is off). */
const num = (v: string): number | null => (v.trim() === '' ? null : Number(v));
const text = (v: number | null | undefined) => (v == null ? '' : String(v));
const OFF = 'Empty: off.';

const ALERTS = gql`
  query AdminAlerts {
    inactivitySettings { staleAfterHours staleMessage autoCloseDays autoCloseWarningDays autoCloseEscalatedDays autoCloseCustomerOnly transcriptRetentionDays version }
    afterCloseSettings { csatRequestEnabled csatRequestMessage postCloseFollowUpDays postCloseFollowUpMessage negativeCsatMessage negativeCsatReopen version }
    managerAlertSettings { queueDepth csatDropPercent escalationSpike escalationWindowMinutes version }
    slaSettings { alertOnBreach }
    cannedResponseVariables
  }
`;
const SAVE_INACTIVITY = gql`
  mutation SaveInactivity($input: InactivitySettingsInput!) {
    saveInactivitySettings(input: $input) { staleAfterHours staleMessage autoCloseDays autoCloseWarningDays autoCloseEscalatedDays autoCloseCustomerOnly transcriptRetentionDays version }
  }
`;
const SAVE_AFTER_CLOSE = gql`
  mutation SaveAfterClose($input: AfterCloseSettingsInput!) {
    saveAfterCloseSettings(input: $input) { csatRequestEnabled csatRequestMessage postCloseFollowUpDays postCloseFollowUpMessage negativeCsatMessage negativeCsatReopen version }
  }
`;
const SAVE_ALERTS = gql`
  mutation SaveManagerAlerts($input: ManagerAlertSettingsInput!) {
    saveManagerAlertSettings(input: $input) { queueDepth csatDropPercent escalationSpike escalationWindowMinutes version }
  }
`;

type AlertsData = {
  inactivitySettings: InactivitySettings;
  afterCloseSettings: AfterCloseSettings;
  managerAlertSettings: ManagerAlertSettings;
  slaSettings: Pick<SlaSettings, 'alertOnBreach'>;
  cannedResponseVariables: string[];
};

const INACTIVITY_FIELDS = ['staleAfterHours', 'staleMessage', 'autoCloseDays', 'autoCloseWarningDays', 'autoCloseEscalatedDays', 'autoCloseCustomerOnly', 'transcriptRetentionDays'];

function InactivityForm({ s }: { s: InactivitySettings }) {
  const m = useMutation();
  const init = (s: InactivitySettings) => ({
    staleAfterHours: text(s.staleAfterHours),
    staleMessage: s.staleMessage ?? '',
    autoCloseDays: text(s.autoCloseDays),
    autoCloseWarningDays: text(s.autoCloseWarningDays),
    autoCloseEscalatedDays: text(s.autoCloseEscalatedDays),
    autoCloseCustomerOnly: s.autoCloseCustomerOnly,
    transcriptRetentionDays: text(s.transcriptRetentionDays),
    version: s.version ?? null,
  });
  const [f, setF] = useState(() => init(s));
  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = {
      staleAfterHours: num(f.staleAfterHours),
      staleMessage: f.staleMessage.trim() || null,
      autoCloseDays: num(f.autoCloseDays),
      autoCloseWarningDays: num(f.autoCloseWarningDays),
      autoCloseEscalatedDays: num(f.autoCloseEscalatedDays),
      autoCloseCustomerOnly: f.autoCloseCustomerOnly,
      transcriptRetentionDays: num(f.transcriptRetentionDays),
      version: f.version,
    };
    void m.run<{ saveInactivitySettings: InactivitySettings }>(SAVE_INACTIVITY, { input }, (d) => setF(init(d.saveInactivitySettings)), 'Follow-up settings saved');
  };
  const numberRow = (field: Exclude<keyof typeof f, 'version'> & string, label: string, hint = OFF) => (
    <FieldRow label={label} field={field} error={m.error} hint={hint}>
      {(a) => <input {...a} type="number" value={String(f[field])} onChange={(e) => setF({ ...f, [field]: e.target.value })} />}
    </FieldRow>
  );
  return (
    <form className="panel form" aria-label="Follow-ups and auto-close" onSubmit={save} noValidate>
      <h2 style={{ margin: 0 }}>Follow-ups and auto-close</h2>
      <div className="grid2">
        {numberRow('staleAfterHours', 'Follow up after (hours without messages)')}
        {numberRow('autoCloseDays', 'Auto-close after (days without activity)', 'Closed as "user unresponsive". Empty: off.')}
        {numberRow('autoCloseWarningDays', 'Warn the requester (days before auto-close)')}
        {numberRow('autoCloseEscalatedDays', 'Escalated tickets auto-close after (days)', 'Empty: the same as other tickets.')}
        {numberRow('transcriptRetentionDays', 'Delete transcripts (days after close)', 'Messages and attachments; the ticket stays for reporting. Empty: keep.')}
      </div>
      <FieldRow label="Follow-up message" field="staleMessage" error={m.error} hint="Empty: the default message.">
        {(a) => <textarea {...a} rows={3} value={f.staleMessage} onChange={(e) => setF({ ...f, staleMessage: e.target.value })} />}
      </FieldRow>
      <label className="inline">
        <input type="checkbox" checked={f.autoCloseCustomerOnly} onChange={(e) => setF({ ...f, autoCloseCustomerOnly: e.target.checked })} />
        Only the requester's messages count as activity
      </label>
      <Feedback error={formError(m.error, INACTIVITY_FIELDS)} notice={m.notice} />
      <div className="row"><button className="primary">Save follow-ups</button></div>
    </form>
  );
}

const AFTER_CLOSE_FIELDS = ['csatRequestEnabled', 'csatRequestMessage', 'postCloseFollowUpDays', 'postCloseFollowUpMessage', 'negativeCsatMessage', 'negativeCsatReopen'];

function AfterCloseForm({ s, variables }: { s: AfterCloseSettings; variables: string[] }) {
  const m = useMutation();
  const init = (s: AfterCloseSettings) => ({
    csatRequestEnabled: s.csatRequestEnabled,
    csatRequestMessage: s.csatRequestMessage ?? '',
    postCloseFollowUpDays: text(s.postCloseFollowUpDays),
    postCloseFollowUpMessage: s.postCloseFollowUpMessage ?? '',
    negativeCsatMessage: s.negativeCsatMessage ?? '',
    negativeCsatReopen: s.negativeCsatReopen,
    version: s.version ?? null,
  });
  const [f, setF] = useState(() => init(s));
  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = {
      csatRequestEnabled: f.csatRequestEnabled,
      csatRequestMessage: f.csatRequestMessage.trim() || null,
      postCloseFollowUpDays: num(f.postCloseFollowUpDays),
      postCloseFollowUpMessage: f.postCloseFollowUpMessage.trim() || null,
      negativeCsatMessage: f.negativeCsatMessage.trim() || null,
      negativeCsatReopen: f.negativeCsatReopen,
      version: f.version,
    };
    void m.run<{ saveAfterCloseSettings: AfterCloseSettings }>(SAVE_AFTER_CLOSE, { input }, (d) => setF(init(d.saveAfterCloseSettings)), 'After-close messages saved');
  };
  const message = (field: 'csatRequestMessage' | 'postCloseFollowUpMessage' | 'negativeCsatMessage', label: string, hint: string) => (
    <FieldRow label={label} field={field} error={m.error} hint={hint}>
      {(a) => <textarea {...a} rows={3} value={f[field]} onChange={(e) => setF({ ...f, [field]: e.target.value })} />}
    </FieldRow>
  );
  return (
    <form className="panel form" aria-label="After close" onSubmit={save} noValidate>
      <h2 style={{ margin: 0 }}>After close</h2>
      <div className="muted" aria-label="Template variables">
        Messages may use: {variables.map((v) => <code key={v} style={{ marginRight: 6 }}>{`{{${v}}}`}</code>)}
      </div>
      <label className="inline">
        <input type="checkbox" checked={f.csatRequestEnabled} onChange={(e) => setF({ ...f, csatRequestEnabled: e.target.checked })} />
        Ask the requester for a rating when their ticket closes
      </label>
      {message('csatRequestMessage', 'Rating request', 'Empty: the default request.')}
      <FieldRow label='Ask "still fixed?" after (days)' field="postCloseFollowUpDays" error={m.error} hint="Not sent for inactivity closes. Empty: off.">
        {(a) => <input {...a} type="number" value={f.postCloseFollowUpDays} onChange={(e) => setF({ ...f, postCloseFollowUpDays: e.target.value })} />}
      </FieldRow>
      {message('postCloseFollowUpMessage', '"Still fixed?" message', 'Empty: the default question.')}
      {message('negativeCsatMessage', 'Reply to a poor rating (1 or 2 of 5)', 'Empty: no reply.')}
      <label className="inline">
        <input type="checkbox" checked={f.negativeCsatReopen} onChange={(e) => setF({ ...f, negativeCsatReopen: e.target.checked })} />
        Reopen tickets rated 1 or 2 of 5
      </label>
      <Feedback error={formError(m.error, AFTER_CLOSE_FIELDS)} notice={m.notice} />
      <div className="row"><button className="primary">Save after-close messages</button></div>
    </form>
  );
}

const ALERT_FIELDS = ['queueDepth', 'csatDropPercent', 'escalationSpike', 'escalationWindowMinutes'];

function ManagerAlertsForm({ s, alertOnBreach }: { s: ManagerAlertSettings; alertOnBreach: boolean }) {
  const m = useMutation();
  const init = (s: ManagerAlertSettings) => ({
    queueDepth: text(s.queueDepth),
    csatDropPercent: text(s.csatDropPercent),
    escalationSpike: text(s.escalationSpike),
    escalationWindowMinutes: text(s.escalationWindowMinutes),
    version: s.version ?? null,
  });
  const [f, setF] = useState(() => init(s));
  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = {
      queueDepth: num(f.queueDepth),
      csatDropPercent: num(f.csatDropPercent),
      escalationSpike: num(f.escalationSpike),
      // Required by the API; empty means its default (60).
      escalationWindowMinutes: num(f.escalationWindowMinutes) ?? 60,
      version: f.version,
    };
    void m.run<{ saveManagerAlertSettings: ManagerAlertSettings }>(SAVE_ALERTS, { input }, (d) => setF(init(d.saveManagerAlertSettings)), 'Manager alerts saved');
  };
  const row = (field: Exclude<keyof typeof f, 'version'>, label: string, hint = OFF) => (
    <FieldRow label={label} field={field} error={m.error} hint={hint}>
      {(a) => <input {...a} type="number" value={f[field]} onChange={(e) => setF({ ...f, [field]: e.target.value })} />}
    </FieldRow>
  );
  return (
    <form className="panel form" aria-label="Manager alerts" onSubmit={save} noValidate>
      <h2 style={{ margin: 0 }}>Manager alerts</h2>
      <p className="muted" style={{ margin: 0 }}>Managers get a notification when a condition starts holding, and again only after it cleared.</p>
      <div className="grid2">
        {row('queueDepth', 'Queue depth (unassigned or escalated tickets over)')}
        {row('csatDropPercent', 'CSAT drop (points under last week)', 'Needs five ratings each week. Empty: off.')}
        {row('escalationSpike', 'Escalation spike (escalations over)')}
        {row('escalationWindowMinutes', 'Escalation spike window (minutes)', 'Empty: 60.')}
      </div>
      <p className="muted" style={{ margin: 0 }} data-testid="sla-breach-alert">
        SLA breaches: {alertOnBreach ? 'managers are notified' : 'no notification'} (change it on <Link href="/admin/sla">SLA policies</Link>).
      </p>
      <Feedback error={formError(m.error, ALERT_FIELDS)} notice={m.notice} />
      <div className="row"><button className="primary">Save manager alerts</button></div>
    </form>
  );
}

export function AlertsPage() {
  const { data, error } = useQuery<AlertsData>(ALERTS);
  return (
    <Page title="Alerts & follow-ups">
      <ErrorText error={error} />
      {data && (
        <div className="form">
          <InactivityForm s={data.inactivitySettings} />
          <AfterCloseForm s={data.afterCloseSettings} variables={data.cannedResponseVariables} />
          <ManagerAlertsForm s={data.managerAlertSettings} alertOnBreach={data.slaSettings.alertOnBreach} />
        </div>
      )}
    </Page>
  );
}
