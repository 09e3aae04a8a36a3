// Admin page: canned responses and the variables they may use.
import { useState, type FormEvent } from 'react';
import { gql } from '../../api/client';
import type { CannedResponse } from '../../api/schema';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Feedback, Page, useMutation, useQuery } from './shared';

const CANNED = gql`query AdminCanned { cannedResponses { id title shortcut body helpTopicId updatedAt version } cannedResponseVariables }`;
const SAVE_CANNED = gql`mutation SaveCanned($id: ID, $input: CannedResponseInput!) { saveCannedResponse(id: $id, input: $input) { id } }`;
const DELETE_CANNED = gql`mutation DeleteCanned($id: ID!) { deleteCannedResponse(id: $id) }`;

export function CannedResponsesPage() {
  const s = useSession();
  const { data, error, reload } = useQuery<{ cannedResponses: CannedResponse[]; cannedResponseVariables: string[] }>(CANNED);
  const m = useMutation();
  const [edit, setEdit] = useState<{ id: string | null; title: string; shortcut: string; body: string; helpTopicId: string; version: number | null } | null>(null);
  const save = (e: FormEvent) => {
    e.preventDefault();
    if (!edit) return;
    // The version the form was opened at: a save over another admin's newer one is refused.
    const input = { title: edit.title, shortcut: edit.shortcut || null, body: edit.body, helpTopicId: edit.helpTopicId || null, version: edit.version };
    void m.run(SAVE_CANNED, { id: edit.id, input }, async () => { setEdit(null); await reload(); });
  };
  return (
    <Page title="Canned responses">
      <ErrorText error={error} />
      <Feedback error={m.error} notice={m.notice} />
      {edit ? (
        <form className="panel form" onSubmit={save} aria-label="Canned response">
          <div className="grid2">
            <label>Title<input required value={edit.title} onChange={(e) => setEdit({ ...edit, title: e.target.value })} /></label>
            <label>Shortcut<input value={edit.shortcut} onChange={(e) => setEdit({ ...edit, shortcut: e.target.value })} /></label>
          </div>
          <label>Scope<select value={edit.helpTopicId} onChange={(e) => setEdit({ ...edit, helpTopicId: e.target.value })}><option value="">Global</option>{s.topics.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}</select></label>
          <label>Template<textarea required value={edit.body} onChange={(e) => setEdit({ ...edit, body: e.target.value })} /></label>
          <p className="muted">Variables: {data?.cannedResponseVariables.map((v) => `{{${v}}}`).join(', ')}</p>
          <div className="row"><button className="primary">Save</button><button type="button" onClick={() => setEdit(null)}>Cancel</button></div>
        </form>
      ) : (
        <button type="button" className="primary" onClick={() => setEdit({ id: null, title: '', shortcut: '', body: '', helpTopicId: '', version: null })}>New canned response</button>
      )}
      <table style={{ marginTop: 12 }}>
        <thead><tr><th>Title</th><th>Shortcut</th><th>Scope</th><th>Template</th><th /></tr></thead>
        <tbody>
          {data?.cannedResponses.map((c) => (
            <tr key={c.id}>
              <td>{c.title}</td>
              <td>{c.shortcut}</td>
              <td>{c.helpTopicId ? s.topics.find((t) => t.id === c.helpTopicId)?.name : 'Global'}</td>
              <td style={{ whiteSpace: 'pre-wrap', maxWidth: 420 }}>{c.body}</td>
              <td className="row">
                <button type="button" onClick={() => setEdit({ id: c.id, title: c.title, shortcut: c.shortcut ?? '', body: c.body, helpTopicId: c.helpTopicId ?? '', version: c.version })}>Edit</button>
                <button type="button" className="danger" onClick={() => void m.run(DELETE_CANNED, { id: c.id }, reload, 'Deleted')}>Delete</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
