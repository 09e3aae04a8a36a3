// Admin page: suggested macros (the feature's name), repeated staff replies that can become canned responses.
import { useState } from 'react';
import { gql } from '../../api/client';
import { ErrorText } from '../../lib/ui';
import { Feedback, Page, useMutation, useQuery } from './shared';

const MACROS = gql`query AdminMacros { macroSuggestions { id body occurrences ticketCount createdAt } }`;
const ACCEPT_MACRO = gql`
  mutation AcceptMacro($id: ID!, $title: String!, $shortcut: String!) { acceptMacroSuggestion(id: $id, title: $title, shortcut: $shortcut) { id } }
`;
const DISMISS_MACRO = gql`mutation DismissMacro($id: ID!) { dismissMacroSuggestion(id: $id) }`;

export function SuggestedMacrosPage() {
  const { data, error, reload } = useQuery<{ macroSuggestions: { id: string; body: string; occurrences: number; ticketCount: number; createdAt: string }[] }>(MACROS);
  const m = useMutation();
  const [names, setNames] = useState<Record<string, { title: string; shortcut: string }>>({});
  return (
    <Page title="Suggested macros">
      <p className="muted">Staff replies repeated across closed tickets. Accepting one makes it a canned response.</p>
      <ErrorText error={error} />
      <Feedback error={m.error} notice={m.notice} />
      {data?.macroSuggestions.length === 0 && <p className="panel">No suggestions right now.</p>}
      {data?.macroSuggestions.map((x) => {
        const n = names[x.id] ?? { title: '', shortcut: '' };
        const set = (p: Partial<typeof n>) => setNames({ ...names, [x.id]: { ...n, ...p } });
        return (
          <form key={x.id} className="panel form" style={{ marginTop: 8 }} aria-label="Suggested macro" onSubmit={(e) => { e.preventDefault(); void m.run(ACCEPT_MACRO, { id: x.id, ...n }, reload, 'Canned response created'); }}>
            <div className="muted">Used {x.occurrences} times on {x.ticketCount} tickets</div>
            <div style={{ whiteSpace: 'pre-wrap' }}>{x.body}</div>
            <div className="row">
              <label>Title<input required value={n.title} onChange={(e) => set({ title: e.target.value })} /></label>
              <label>Shortcut<input required value={n.shortcut} onChange={(e) => set({ shortcut: e.target.value })} /></label>
              <button className="primary">Accept</button>
              <button type="button" onClick={() => void m.run(DISMISS_MACRO, { id: x.id }, reload, 'Dismissed')}>Dismiss</button>
            </div>
          </form>
        );
      })}
    </Page>
  );
}
