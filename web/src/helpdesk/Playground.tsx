// Knowledge → Playground: type a question the way a customer would and see what the bot would
// do (its answer, decision, confidence and reasons, and the passages it drew on, ranked);
// Settings → AI & voice for admins; and the knowledge gaps (questions the bot escalated for lack
// of an answer), each linked to its ticket.
import { useState, type FormEvent } from 'react';
import { gql } from '../api/client';
import { formatDate } from '../lib/format';
import { Link } from '../lib/router';
import { ErrorText } from '../lib/ui';
import { Feedback, FieldRow, Page, formError, useMutation, useQuery } from './admin/shared';
import { useSession } from './session';

type Decision = 'ANSWER' | 'ASK' | 'ESCALATE';
type Source = { kind: 'DOCUMENT' | 'TIP'; id: string; chunkId: string; title: string; heading: string | null; excerpt: string; score: number; link: string | null };
type Result = { answer: string | null; decision: Decision; confidence: number; reasons: string[]; byModel: boolean; sources: Source[] };
type Settings = { botEnabled: boolean; confidenceThreshold: number; voice: string; staffReplyCooldownMinutes: number; chatModel: string | null };
type Gap = { id: string; ticketId: string; ticketNumber: string | null; question: string; confidence: number; reasons: string[]; createdAt: string };

const ASK = gql`query Playground($q: String!) { playground(question: $q) { answer decision confidence reasons byModel sources { kind id chunkId title heading excerpt score link } } }`;
const SETTINGS = gql`query AnswerSettings { answerSettings { botEnabled confidenceThreshold voice staffReplyCooldownMinutes chatModel } knowledgeGaps { id ticketId ticketNumber question confidence reasons createdAt } }`;
const SAVE = gql`mutation UpdateAnswerSettings($input: AnswerSettingsInput!) { updateAnswerSettings(input: $input) { botEnabled } }`;
const DISMISS = gql`mutation DismissKnowledgeGaps($ids: [ID!]!) { dismissKnowledgeGaps(ids: $ids) }`;

const DECISION: Record<Decision, string> = { ANSWER: 'Answers', ASK: 'Asks for more detail', ESCALATE: 'Escalates to staff' };
const percent = (n: number) => `${Math.round(n * 100)}%`;

export default function PlaygroundPage() {
  const session = useSession();
  const admin = session.can('admin');
  const [question, setQuestion] = useState('');
  const [result, setResult] = useState<Result | null>(null);
  const ask = useMutation();
  const { data, error, reload } = useQuery<{ answerSettings: Settings; knowledgeGaps: Gap[] }>(SETTINGS);
  const save = useMutation();
  const [form, setForm] = useState<Omit<Settings, 'chatModel'> | null>(null);
  const settings = form ?? data?.answerSettings ?? null;

  const onAsk = (e: FormEvent) => {
    e.preventDefault();
    void ask.run<{ playground: Result }>(ASK, { q: question }, (d) => setResult(d.playground), '');
  };
  const onSave = (e: FormEvent) => {
    e.preventDefault();
    if (!settings) return;
    const { botEnabled, confidenceThreshold, voice, staffReplyCooldownMinutes } = settings;
    void save.run(SAVE, { input: { botEnabled, confidenceThreshold, voice, staffReplyCooldownMinutes } }, async () => {
      setForm(null);
      await reload();
    });
  };
  const edit = (patch: Partial<Settings>) => settings && setForm({ ...settings, ...patch });
  const fields = ['confidenceThreshold', 'voice', 'staffReplyCooldownMinutes'];

  return (
    <Page title="Playground">
      <p><Link href="/knowledge">← Knowledge</Link></p>
      <form className="panel row" onSubmit={onAsk} aria-label="Ask the bot">
        <input aria-label="Question" placeholder="Ask a question the way a customer would" value={question} onChange={(e) => setQuestion(e.target.value)} style={{ flex: 1 }} />
        <button className="primary">Ask</button>
      </form>
      <ErrorText error={ask.error} />
      {result && (
        <div className="panel" aria-label="What the bot would do" style={{ marginTop: 12 }}>
          <p><strong>{DECISION[result.decision]}</strong> · confidence {percent(result.confidence)}{result.byModel ? ' · composed by the chat model' : ' · extractive'}</p>
          {result.answer ? <blockquote style={{ whiteSpace: 'pre-wrap' }} aria-label="Answer">{result.answer}</blockquote> : <p className="muted">It would not answer.</p>}
          <ul aria-label="Reasons">{result.reasons.map((r, i) => <li key={i}>{r}</li>)}</ul>
          <h2>Sources</h2>
          {result.sources.length === 0 && <p className="muted">Nothing in the knowledge base matched.</p>}
          <ol aria-label="Sources">
            {result.sources.map((s) => (
              <li key={s.chunkId}>
                <strong>{s.title}</strong>{s.heading && <span className="muted"> › {s.heading}</span>} <span className="muted">({percent(s.score)} of the question)</span>
                {s.link && <> · <a href={s.link} target="_blank" rel="noreferrer">page</a></>}
                <div>{s.excerpt}</div>
              </li>
            ))}
          </ol>
        </div>
      )}
      <ErrorText error={error} />
      {settings && (
        <form className="panel" onSubmit={onSave} aria-label="AI & voice" style={{ marginTop: 12 }}>
          <h2>AI &amp; voice</h2>
          <p className="muted">{data?.answerSettings.chatModel ? `Answers are written by ${data.answerSettings.chatModel} from your knowledge.` : 'No chat model is configured: answers quote the best passage with its source.'}</p>
          <label className="inline"><input type="checkbox" disabled={!admin} checked={settings.botEnabled} onChange={(e) => edit({ botEnabled: e.target.checked })} /> The bot answers customer messages in tickets</label>
          <FieldRow label="Confidence threshold (%)" field="confidenceThreshold" error={save.error} hint="Below it the bot escalates instead of answering.">
            {(a) => <input {...a} type="number" min={0} max={100} disabled={!admin} value={settings.confidenceThreshold} onChange={(e) => edit({ confidenceThreshold: Number(e.target.value) })} />}
          </FieldRow>
          <FieldRow label="Staff reply cooldown (minutes)" field="staffReplyCooldownMinutes" error={save.error} hint="0 turns the time-based pause off.">
            {(a) => <input {...a} type="number" min={0} max={1440} disabled={!admin} value={settings.staffReplyCooldownMinutes} onChange={(e) => edit({ staffReplyCooldownMinutes: Number(e.target.value) })} />}
          </FieldRow>
          <FieldRow label="Voice & tone" field="voice" error={save.error} hint="A style instruction for the chat model's answers; test it here.">
            {(a) => <textarea {...a} rows={2} disabled={!admin} value={settings.voice} onChange={(e) => edit({ voice: e.target.value })} />}
          </FieldRow>
          {admin && <button className="primary">Save</button>}
          <Feedback error={formError(save.error, fields)} notice={save.notice} />
        </form>
      )}
      {data && (
        <div className="panel" aria-label="Knowledge gaps" style={{ marginTop: 12 }}>
          <h2>Knowledge gaps</h2>
          {data.knowledgeGaps.length === 0 && <p className="muted">No questions escalated for lack of an answer.</p>}
          <ul>
            {data.knowledgeGaps.map((g) => (
              <li key={g.id}>
                “{g.question}” <span className="muted">{percent(g.confidence)} · {formatDate(g.createdAt)}</span>{' '}
                {g.ticketNumber && <Link href={`/tickets/${encodeURIComponent(g.ticketNumber)}`}>Open {g.ticketNumber}</Link>}
                {admin && <> · <button type="button" className="link" onClick={() => void save.run(DISMISS, { ids: [g.id] }, reload, 'Dismissed')}>Mark out of scope</button></>}
              </li>
            ))}
          </ul>
        </div>
      )}
    </Page>
  );
}
