// Admin page: SLA policies, business-hour calendars and the at-risk threshold. Every form sends the
// version it was loaded at, so a save over another admin's newer one is refused (naming them); a
// form is drawn again from the server's values whenever its version changes.
import { useState, type FormEvent } from 'react';
import { gql } from '../../api/client';
import type { Calendar, Priority, SlaPolicy, Weekday } from '../../api/schema';
import { PriorityValues, WeekdayValues } from '../../api/schema';
import { priorityLabel } from '../../lib/format';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Feedback, Page, useMutation, useQuery } from './shared';

const SLA = gql`
  query AdminSla {
    slaPolicies { id name priority helpTopicId firstResponseMinutes resolutionMinutes calendarId createdAt updatedAt version }
    calendars { id name timeZone schedule { weekday opens closes } holidays createdAt updatedAt version }
    slaSettings { atRiskPercent alertOnBreach version }
  }
`;
const SAVE_POLICY = gql`mutation SavePolicy($id: ID, $input: SlaPolicyInput!) { saveSlaPolicy(id: $id, input: $input) { id } }`;
const DELETE_POLICY = gql`mutation DeletePolicy($id: ID!) { deleteSlaPolicy(id: $id) }`;
const SAVE_CALENDAR = gql`mutation SaveCalendar($id: ID, $input: CalendarInput!) { saveCalendar(id: $id, input: $input) { id } }`;
const DELETE_CALENDAR = gql`mutation DeleteCalendar($id: ID!) { deleteCalendar(id: $id) }`;
const SAVE_SLA_SETTINGS = gql`mutation SaveSlaSettings($input: SlaSettingsInput!) { saveSlaSettings(input: $input) { atRiskPercent } }`;

function PolicyForm({ p, calendars, onSaved }: { p: SlaPolicy | null; calendars: Calendar[]; onSaved: () => Promise<void> }) {
  const s = useSession();
  const m = useMutation();
  const [f, setF] = useState({
    name: p?.name ?? '',
    priority: p?.priority ?? ('NORMAL' as Priority),
    helpTopicId: p?.helpTopicId ?? '',
    firstResponseMinutes: String(p?.firstResponseMinutes ?? 60),
    resolutionMinutes: String(p?.resolutionMinutes ?? 480),
    calendarId: p?.calendarId ?? '',
  });
  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = { ...f, helpTopicId: f.helpTopicId || null, calendarId: f.calendarId || null, firstResponseMinutes: Number(f.firstResponseMinutes), resolutionMinutes: Number(f.resolutionMinutes), version: p?.version ?? null };
    void m.run(SAVE_POLICY, { id: p?.id ?? null, input }, onSaved);
  };
  return (
    <form className="row" onSubmit={save} aria-label={p ? `SLA policy ${p.name}` : 'New SLA policy'} style={{ padding: '6px 0', borderBottom: '1px solid var(--line)' }}>
      <label>Name<input required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} /></label>
      <label>Priority<select value={f.priority} onChange={(e) => setF({ ...f, priority: e.target.value as Priority })}>{PriorityValues.map((x) => <option key={x} value={x}>{priorityLabel[x]}</option>)}</select></label>
      <label>Help topic<select value={f.helpTopicId} onChange={(e) => setF({ ...f, helpTopicId: e.target.value })}><option value="">Every topic</option>{s.topics.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}</select></label>
      <label>First response (min)<input type="number" min={5} style={{ width: 100 }} value={f.firstResponseMinutes} onChange={(e) => setF({ ...f, firstResponseMinutes: e.target.value })} /></label>
      <label>Resolution (min)<input type="number" min={5} style={{ width: 100 }} value={f.resolutionMinutes} onChange={(e) => setF({ ...f, resolutionMinutes: e.target.value })} /></label>
      <label>Business hours<select value={f.calendarId} onChange={(e) => setF({ ...f, calendarId: e.target.value })}><option value="">Round the clock</option>{calendars.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}</select></label>
      <button className={p ? '' : 'primary'}>{p ? 'Save' : 'Create policy'}</button>
      {p && <button type="button" className="danger" onClick={() => void m.run(DELETE_POLICY, { id: p.id }, onSaved)}>Delete</button>}
      <Feedback error={m.error} notice={m.notice} />
    </form>
  );
}

function CalendarForm({ c, onSaved }: { c: Calendar | null; onSaved: () => Promise<void> }) {
  const m = useMutation();
  const [name, setName] = useState(c?.name ?? '');
  const [tz, setTz] = useState(c?.timeZone ?? 'UTC');
  const [hours, setHours] = useState<Record<Weekday, { on: boolean; opens: string; closes: string }>>(() =>
    Object.fromEntries(
      WeekdayValues.map((d) => {
        const h = c?.schedule.find((x) => x.weekday === d);
        return [d, { on: c ? !!h : !['SATURDAY', 'SUNDAY'].includes(d), opens: h?.opens ?? '09:00', closes: h?.closes ?? '17:00' }];
      }),
    ) as Record<Weekday, { on: boolean; opens: string; closes: string }>,
  );
  const [holidays, setHolidays] = useState((c?.holidays ?? []).join(', '));
  const save = (e: FormEvent) => {
    e.preventDefault();
    const schedule = WeekdayValues.filter((d) => hours[d].on).map((d) => ({ weekday: d, opens: hours[d].opens, closes: hours[d].closes }));
    const input = { name, timeZone: tz, schedule, holidays: holidays.split(',').map((x) => x.trim()).filter(Boolean), version: c?.version ?? null };
    void m.run(SAVE_CALENDAR, { id: c?.id ?? null, input }, onSaved);
  };
  return (
    <form className="panel form" onSubmit={save} aria-label={c ? `Business hours ${c.name}` : 'New business hours'} style={{ marginTop: 8 }}>
      <div className="row">
        <label>Calendar name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Time zone<input required value={tz} onChange={(e) => setTz(e.target.value)} /></label>
      </div>
      {WeekdayValues.map((d) => (
        <div className="row" key={d}>
          <label className="inline" style={{ width: 130 }}><input type="checkbox" checked={hours[d].on} onChange={(e) => setHours({ ...hours, [d]: { ...hours[d], on: e.target.checked } })} /> {d.charAt(0) + d.slice(1).toLowerCase()}</label>
          <input aria-label={`${d} opens`} value={hours[d].opens} disabled={!hours[d].on} style={{ width: 80 }} onChange={(e) => setHours({ ...hours, [d]: { ...hours[d], opens: e.target.value } })} />–
          <input aria-label={`${d} closes`} value={hours[d].closes} disabled={!hours[d].on} style={{ width: 80 }} onChange={(e) => setHours({ ...hours, [d]: { ...hours[d], closes: e.target.value } })} />
        </div>
      ))}
      <label>Holidays (YYYY-MM-DD, comma-separated)<input value={holidays} onChange={(e) => setHolidays(e.target.value)} /></label>
      <div className="row">
        <button className="primary">{c ? 'Save business hours' : 'Create business hours'}</button>
        {/* Refused while an SLA policy counts in these hours; the error names the policies. */}
        {c && <button type="button" className="danger" onClick={() => void m.run(DELETE_CALENDAR, { id: c.id }, onSaved)}>Delete business hours</button>}
        <Feedback error={m.error} notice={m.notice} />
      </div>
    </form>
  );
}

export function SlaPage() {
  const { data, error, reload } = useQuery<{ slaPolicies: SlaPolicy[]; calendars: Calendar[]; slaSettings: { atRiskPercent: number; alertOnBreach: boolean; version: number } }>(SLA);
  const m = useMutation();
  return (
    <Page title="SLA policies and business hours">
      <ErrorText error={error} />
      <div className="panel">
        <h2 style={{ marginTop: 0 }}>SLA policies</h2>
        {data && <PolicyForm p={null} calendars={data.calendars} onSaved={reload} />}
        {data?.slaPolicies.map((p) => <PolicyForm key={p.id} p={p} calendars={data.calendars} onSaved={reload} />)}
      </div>
      {data && (
        <form key={data.slaSettings.version} className="panel row" style={{ marginTop: 12 }} onSubmit={(e) => {
          e.preventDefault();
          const fd = new FormData(e.currentTarget);
          void m.run(SAVE_SLA_SETTINGS, { input: { atRiskPercent: Number(fd.get('risk')), alertOnBreach: fd.get('alert') === 'on', version: data.slaSettings.version } }, reload);
        }}>
          <label>At risk below (% of the target's time left)<input name="risk" type="number" min={1} max={99} defaultValue={data.slaSettings.atRiskPercent} /></label>
          <label className="inline"><input name="alert" type="checkbox" defaultChecked={data.slaSettings.alertOnBreach} /> Notify managers when a target is missed</label>
          <button>Save SLA settings</button>
          <Feedback error={m.error} notice={m.notice} />
        </form>
      )}
      <h2>Business hours</h2>
      <CalendarForm c={null} onSaved={reload} />
      {data?.calendars.map((c) => <CalendarForm key={`${c.id}:${c.version}`} c={c} onSaved={reload} />)}
    </Page>
  );
}
