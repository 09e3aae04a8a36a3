// Insights: the service metrics of a period (7, 30, 90 days or a custom range, in the workspace's
// time zone), narrowed by queue, help topic and channel, from the server's daily rollups. Every
// chart is plain SVG with axes and values on hover, and has a table view of the same numbers;
// every table downloads as CSV (through `toCsv`, which defuses formulas).
import { useEffect, useState } from 'react';
import { gql, request } from '../api/client';
import { axisTicks, csvShare, formatMinutes, formatShare, niceMax } from '../lib/charts';
import { download, toCsv } from '../lib/format';
import { ErrorText } from '../lib/ui';
import { useSession } from './session';

const INSIGHTS = gql`
  query Insights($period: InsightPeriod!, $from: String, $to: String, $filter: InsightFilterInput) {
    insights(period: $period, from: $from, to: $to, filter: $filter) {
      from to opened closed closedEscalated reopened reopenRate
      days { date opened closed reopened backlog csatRated csatSatisfied }
      volume { date channel helpTopicName opened closed }
      firstResponse { count medianMinutes p90Minutes }
      firstResponseBusiness { count medianMinutes p90Minutes }
      resolution { count medianMinutes p90Minutes }
      resolutionBusiness { count medianMinutes p90Minutes }
      sla { target met missed rate }
      csat { rated satisfied satisfiedShare byRating { rating count } }
      staff { userId name closed claimed avgFirstResponseMinutes avgResolutionMinutes messages csatRate }
      bot { deflectionRate botResolved topQuestions tipsLearned knowledgeGaps }
    }
  }
`;

type Period = 'LAST_7_DAYS' | 'LAST_30_DAYS' | 'LAST_90_DAYS' | 'CUSTOM';
type Duration = { count: number; medianMinutes: number | null; p90Minutes: number | null };
type Data = {
  from: string;
  to: string;
  opened: number;
  closed: number;
  closedEscalated: number;
  reopened: number;
  reopenRate: number | null;
  days: { date: string; opened: number; closed: number; reopened: number; backlog: number; csatRated: number; csatSatisfied: number }[];
  volume: { date: string; channel: string; helpTopicName: string | null; opened: number; closed: number }[];
  firstResponse: Duration;
  firstResponseBusiness: Duration;
  resolution: Duration;
  resolutionBusiness: Duration;
  sla: { target: string; met: number; missed: number; rate: number | null }[];
  csat: { rated: number; satisfied: number; satisfiedShare: number | null; byRating: { rating: number; count: number }[] };
  staff: {
    userId: string;
    name: string;
    closed: number;
    claimed: number;
    avgFirstResponseMinutes: number | null;
    avgResolutionMinutes: number | null;
    messages: number;
    csatRate: number | null;
  }[];
  bot: { deflectionRate: number | null; botResolved: number | null; topQuestions: string[] | null; tipsLearned: number | null; knowledgeGaps: number | null };
};

const PERIODS: [Period, string][] = [
  ['LAST_7_DAYS', 'Last 7 days'],
  ['LAST_30_DAYS', 'Last 30 days'],
  ['LAST_90_DAYS', 'Last 90 days'],
  ['CUSTOM', 'Custom range'],
];
const CHANNELS: [string, string][] = [
  ['WEB', 'Web'],
  ['PORTAL', 'Portal'],
  ['EMAIL', 'Email'],
  ['WHATSAPP', 'WhatsApp'],
  ['DISCORD', 'Discord'],
  ['API', 'API'],
  ['PHONE', 'Phone'],
];
const channelLabel = (c: string) => CHANNELS.find(([k]) => k === c)?.[1] ?? c;
const targetLabel: Record<string, string> = { FIRST_RESPONSE: 'First response', RESOLUTION: 'Resolution' };
const ratingLabel = (r: number) => (r === 5 ? '5 (Helpful)' : r === 1 ? '1 (Not helpful)' : String(r));
const NO_DATA = 'No data yet';

type Cell = string | number | null;

/** A table of the numbers behind a chart or a list, with its CSV download. */
function DataTable({ caption, file, columns, rows, open = false }: { caption: string; file: string; columns: string[]; rows: Cell[][]; open?: boolean }) {
  return (
    <details className="insight-table" open={open}>
      <summary>{open ? caption : `Table: ${caption}`}</summary>
      <button type="button" onClick={() => download(file, toCsv([columns, ...rows]))}>Download CSV</button>
      <table>
        <caption className="muted">{caption}</caption>
        <thead>
          <tr>{columns.map((c) => <th key={c} scope="col">{c}</th>)}</tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>{r.map((v, j) => (j === 0 ? <th key={j} scope="row">{v ?? '—'}</th> : <td key={j}>{v ?? '—'}</td>))}</tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

type Series = { name: string; color: string; values: number[] };

/** Grouped bars in SVG, y axis from zero with round ticks, each bar's value in its tooltip. */
function BarChart({ title, labels, series }: { title: string; labels: string[]; series: Series[] }) {
  const W = 640;
  const H = 200;
  const left = 40;
  const bottom = 22;
  const top = 8;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const ticks = axisTicks(max);
  const plotH = H - top - bottom;
  const slot = (W - left - 4) / Math.max(1, labels.length);
  const bar = Math.max(1, (slot * 0.8) / series.length);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const every = Math.ceil(labels.length / 10);
  const summary = series.map((s) => `${s.name}: ${s.values.reduce((a, b) => a + b, 0)}`).join('; ');
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}. ${summary}. The table below has every value.`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={left} x2={W} y1={y(t)} y2={y(t)} stroke="#e5e7eb" />
            <text x={left - 4} y={y(t) + 4} fontSize="10" textAnchor="end" fill="#4b5563">{t}</text>
          </g>
        ))}
        <line x1={left} x2={left} y1={top} y2={top + plotH} stroke="#9ca3af" />
        {labels.map((l, i) => (
          <g key={l + i}>
            {series.map((s, k) => (
              <rect
                key={s.name}
                x={left + i * slot + slot * 0.1 + k * bar}
                y={y(s.values[i] ?? 0)}
                width={bar}
                height={Math.max(0, top + plotH - y(s.values[i] ?? 0))}
                fill={s.color}
                tabIndex={-1}
              >
                <title>{`${l} — ${s.name}: ${s.values[i] ?? 0}`}</title>
              </rect>
            ))}
            {i % every === 0 && (
              <text x={left + i * slot + slot / 2} y={H - 6} fontSize="10" textAnchor="middle" fill="#4b5563">{l.length === 10 ? l.slice(5) : l}</text>
            )}
          </g>
        ))}
      </svg>
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.name}><span className="swatch" style={{ background: s.color }} /> {s.name}</span>
        ))}
      </figcaption>
    </figure>
  );
}

function Tile({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="tile" title={hint}>
      <span className="n">{value}</span> {label}
    </div>
  );
}

export default function Insights() {
  const s = useSession();
  const [period, setPeriod] = useState<Period>('LAST_7_DAYS');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [queue, setQueue] = useState('');
  const [topic, setTopic] = useState('');
  const [channel, setChannel] = useState('');
  const [d, setD] = useState<Data | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (period === 'CUSTOM' && (!from || !to)) return;
    const filter = { queueId: queue || null, helpTopicId: topic || null, channel: channel || null };
    const vars = { period, from: period === 'CUSTOM' ? from : null, to: period === 'CUSTOM' ? to : null, filter };
    let live = true;
    setError(null);
    request<{ insights: Data }>(s.token, INSIGHTS, vars)
      .then((r) => live && setD(r.insights))
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [s.token, period, from, to, queue, topic, channel]);

  const controls = (
    <div className="filters insight-controls">
      <label>
        Period{' '}
        <select value={period} onChange={(e) => setPeriod(e.target.value as Period)}>
          {PERIODS.map(([k, l]) => <option key={k} value={k}>{l}</option>)}
        </select>
      </label>
      {period === 'CUSTOM' && (
        <>
          <label>From <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} /></label>
          <label>To <input type="date" value={to} onChange={(e) => setTo(e.target.value)} /></label>
        </>
      )}
      <label>
        Queue{' '}
        <select value={queue} onChange={(e) => setQueue(e.target.value)}>
          <option value="">All queues</option>
          {s.queues.map((q) => <option key={q.id} value={q.id}>{q.name}</option>)}
        </select>
      </label>
      <label>
        Help topic{' '}
        <select value={topic} onChange={(e) => setTopic(e.target.value)}>
          <option value="">All help topics</option>
          <option value="none">No help topic</option>
          {s.topics.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
        </select>
      </label>
      <label>
        Channel{' '}
        <select value={channel} onChange={(e) => setChannel(e.target.value)}>
          <option value="">All channels</option>
          {CHANNELS.map(([k, l]) => <option key={k} value={k}>{l}</option>)}
        </select>
      </label>
    </div>
  );

  if (!s.can('reassign')) return <p>Insights are for supervisors and admins.</p>;
  let body;
  if (error) body = <ErrorText error={error} />;
  else if (period === 'CUSTOM' && (!from || !to)) body = <p className="muted">Choose the first and last day of the range.</p>;
  else if (!d) body = <p className="muted">Loading…</p>;
  else body = <InsightsBody d={d} />;
  return (
    <section aria-labelledby="insights-title">
      <h1 id="insights-title">Insights</h1>
      {controls}
      {body}
    </section>
  );
}

function InsightsBody({ d }: { d: Data }) {
  const range = `${d.from}_${d.to}`;
  const file = (what: string) => `insights-${what}-${range}.csv`;
  const dates = d.days.map((x) => x.date);
  const byChannel = new Map<string, { opened: number; closed: number }>();
  for (const v of d.volume) {
    const c = byChannel.get(v.channel) ?? { opened: 0, closed: 0 };
    c.opened += v.opened;
    c.closed += v.closed;
    byChannel.set(v.channel, c);
  }
  const channels = [...byChannel.keys()].sort();
  const otherClosed = d.closed - d.closedEscalated;
  const durations: [string, Duration][] = [
    ['First response (wall clock)', d.firstResponse],
    ['First response (business hours)', d.firstResponseBusiness],
    ['Resolution (wall clock)', d.resolution],
    ['Resolution (business hours)', d.resolutionBusiness],
  ];
  return (
    <>
      <p className="muted">
        {d.from} to {d.to}, days in the workspace's time zone.
      </p>
      <div className="tiles">
        <Tile label="Opened" value={String(d.opened)} />
        <Tile label="Closed" value={String(d.closed)} />
        <Tile label="Reopen rate" value={formatShare(d.reopenRate)} />
        <Tile label="First response (median)" value={formatMinutes(d.firstResponse.medianMinutes)} />
        <Tile label="Resolution (median)" value={formatMinutes(d.resolution.medianMinutes)} />
        <Tile label="CSAT satisfied" value={formatShare(d.csat.satisfiedShare)} hint="Ratings of 4 or 5 (Helpful) of all ratings" />
        <Tile label="Bot deflection" value={d.bot.deflectionRate == null ? NO_DATA : formatShare(d.bot.deflectionRate)} hint="Fills in when the answer bot is running" />
      </div>

      <div className="panel">
        <h2>Tickets opened and closed</h2>
        <BarChart
          title="Tickets opened and closed per day"
          labels={dates}
          series={[
            { name: 'Opened', color: '#2563eb', values: d.days.map((x) => x.opened) },
            { name: 'Closed', color: '#15803d', values: d.days.map((x) => x.closed) },
          ]}
        />
        <DataTable
          caption="Tickets per day"
          file={file('days')}
          columns={['Date', 'Opened', 'Closed', 'Reopened', 'Backlog at end of day', 'CSAT ratings', 'CSAT satisfied']}
          rows={d.days.map((x) => [x.date, x.opened, x.closed, x.reopened, x.backlog, x.csatRated, x.csatSatisfied])}
        />
      </div>

      <div className="panel">
        <h2>Backlog</h2>
        <BarChart title="Open tickets at the end of each day" labels={dates} series={[{ name: 'Backlog', color: '#7c3aed', values: d.days.map((x) => x.backlog) }]} />
      </div>

      <div className="panel">
        <h2>Volume by channel</h2>
        {channels.length === 0 ? (
          <p className="muted">No tickets in this period.</p>
        ) : (
          <BarChart
            title="Tickets by channel"
            labels={channels.map(channelLabel)}
            series={[
              { name: 'Opened', color: '#2563eb', values: channels.map((c) => byChannel.get(c)?.opened ?? 0) },
              { name: 'Closed', color: '#15803d', values: channels.map((c) => byChannel.get(c)?.closed ?? 0) },
            ]}
          />
        )}
        <DataTable
          caption="Tickets per day by channel and help topic"
          file={file('volume')}
          columns={['Date', 'Channel', 'Help topic', 'Opened', 'Closed']}
          rows={d.volume.map((v) => [v.date, channelLabel(v.channel), v.helpTopicName ?? 'No help topic', v.opened, v.closed])}
        />
      </div>

      <div className="panel">
        <h2>Ticket resolution</h2>
        <BarChart
          title="How closed tickets were resolved"
          labels={['Escalated', 'Other']}
          series={[{ name: 'Closed tickets', color: '#15803d', values: [d.closedEscalated, otherClosed] }]}
        />
        <p className="muted">Bot resolved: {d.bot.botResolved == null ? NO_DATA : d.bot.botResolved} (the answer bot is not running).</p>
        <DataTable
          caption="Closed tickets by resolution"
          file={file('resolution')}
          columns={['Resolution', 'Tickets']}
          rows={[['Bot resolved', d.bot.botResolved == null ? NO_DATA : d.bot.botResolved], ['Escalated', d.closedEscalated], ['Other', otherClosed]]}
        />
      </div>

      <div className="panel">
        <h2>Response and resolution times</h2>
        <DataTable
          open
          caption="Response and resolution times"
          file={file('times')}
          columns={['Measure', 'Tickets', 'Median', 'p90', 'Median (minutes)', 'p90 (minutes)']}
          rows={durations.map(([l, x]) => [l, x.count, formatMinutes(x.medianMinutes), formatMinutes(x.p90Minutes), x.medianMinutes, x.p90Minutes])}
        />
        <DataTable
          open
          caption="SLA attainment per target"
          file={file('sla')}
          columns={['Target', 'Met', 'Missed', 'Attainment (%)']}
          rows={d.sla.map((x) => [targetLabel[x.target] ?? x.target, x.met, x.missed, csvShare(x.rate)])}
        />
      </div>

      <div className="panel">
        <h2>CSAT</h2>
        <BarChart
          title="CSAT breakdown by rating"
          labels={d.csat.byRating.map((r) => ratingLabel(r.rating))}
          series={[{ name: 'Ratings', color: '#c2410c', values: d.csat.byRating.map((r) => r.count) }]}
        />
        <BarChart
          title="CSAT trend: ratings per day"
          labels={dates}
          series={[
            { name: 'Satisfied', color: '#15803d', values: d.days.map((x) => x.csatSatisfied) },
            { name: 'Not satisfied', color: '#b91c1c', values: d.days.map((x) => x.csatRated - x.csatSatisfied) },
          ]}
        />
        <p className="muted">Satisfied: ratings of 4 or 5; on the two-button scale Helpful counts as 5 and Not helpful as 1.</p>
        <DataTable
          caption="CSAT ratings"
          file={file('csat')}
          columns={['Rating', 'Ratings']}
          rows={d.csat.byRating.map((r) => [ratingLabel(r.rating), r.count])}
        />
      </div>

      <div className="panel">
        <h2>Staff performance</h2>
        <DataTable
          open
          caption="Staff performance (CSAT attributed to the closer)"
          file={file('staff')}
          columns={['Staff member', 'Closed', 'Claimed', 'Avg first response (min)', 'Avg resolution (min)', 'Messages', 'CSAT rate (%)']}
          rows={d.staff.map((x) => [
            x.name,
            x.closed,
            x.claimed,
            x.avgFirstResponseMinutes == null ? null : Math.round(x.avgFirstResponseMinutes),
            x.avgResolutionMinutes == null ? null : Math.round(x.avgResolutionMinutes),
            x.messages,
            csvShare(x.csatRate),
          ])}
        />
      </div>

      <div className="panel">
        <h2>Answer bot</h2>
        <p className="muted">
          Deflection rate, top questions, tips learned and knowledge gaps: {NO_DATA}. They fill in when the answer bot is running.
        </p>
      </div>
    </>
  );
}
