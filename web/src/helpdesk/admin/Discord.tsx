// Admin page: Discord guilds linked to the workspace (panel channel, ticket types, staff and
// management roles, transcripts channel) and the state of this server's gateway connection.
// Saving a guild posts or updates its ticket panel; Discord's refusal shows with the guild.
// Each guild shows its deployment (Ready / Partial / Pending, what is missing, the next step) as
// `/switchboard view` says it in Discord; a one-time link code lets `/switchboard setup` link a
// server from inside Discord.
import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, gql } from '../../api/client';
import type { DiscordDeployment, DiscordGateway, DiscordGuild, DiscordTicketType } from '../../api/schema';
import { ErrorText } from '../../lib/ui';
import { useSession } from '../session';
import { Feedback, Page, useMutation, useQuery } from './shared';

const DISCORD = gql`
  query AdminDiscord {
    discordGateway { configured connected standby guilds { id name } lastError sessions resumes }
    discordGuilds { id guildId name enabled panelChannelId transcriptsChannelId staffReviewChannelId staffRoleIds managementRoleIds sequentialNames panelMessageId panelError
      learnedTipsChannelId autoLearn transcriptRetentionDays staffReplyCooldownMinutes deployment { status missing nextStep }
      ticketTypes { key helpTopicId label description categoryId enabled roleIds openLimit askSubject askDescription } }
  }
`;
const SAVE_GUILD = gql`mutation SaveDiscordGuild($id: ID, $input: DiscordGuildInput!) { saveDiscordGuild(id: $id, input: $input) { id panelMessageId panelError } }`;
const DELETE_GUILD = gql`mutation DeleteDiscordGuild($id: ID!) { deleteDiscordGuild(id: $id) }`;
const CREATE_LINK_CODE = gql`mutation CreateDiscordLinkCode { createDiscordLinkCode { code expiresAt nextStep } }`;
/** The next step of a workspace no Discord server is linked to yet (the server says the same in Discord). */
const LINK_FIRST = 'Create a link code below, then run /switchboard setup code:<code> in your Discord server to create the channels, or /switchboard link code:<code> to adopt the channels you already have.';

type Guild = DiscordGuild;

/** Role ids as typed: separated by commas, spaces or new lines. */
function ids(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

interface TypeForm {
  key: string;
  helpTopicId: string;
  label: string;
  description: string;
  categoryId: string;
  enabled: boolean;
  roleIds: string;
  openLimit: string;
  askSubject: boolean;
  askDescription: boolean;
}

function typeForm(t: DiscordTicketType | null, topicId: string): TypeForm {
  return {
    key: t?.key ?? '',
    helpTopicId: t?.helpTopicId ?? topicId,
    label: t?.label ?? '',
    description: t?.description ?? '',
    categoryId: t?.categoryId ?? '',
    enabled: t?.enabled ?? true,
    roleIds: t?.roleIds.join(', ') ?? '',
    openLimit: String(t?.openLimit ?? 1),
    askSubject: t?.askSubject ?? false,
    askDescription: t?.askDescription ?? false,
  };
}

function guildForm(g: Guild | null, topicId: string) {
  return {
    guildId: g?.guildId ?? '',
    name: g?.name ?? '',
    enabled: g?.enabled ?? true,
    panelChannelId: g?.panelChannelId ?? '',
    transcriptsChannelId: g?.transcriptsChannelId ?? '',
    staffReviewChannelId: g?.staffReviewChannelId ?? '',
    staffRoleIds: g?.staffRoleIds.join(', ') ?? '',
    managementRoleIds: g?.managementRoleIds.join(', ') ?? '',
    sequentialNames: g?.sequentialNames ?? true,
    learnedTipsChannelId: g?.learnedTipsChannelId ?? '',
    autoLearn: g?.autoLearn ?? false,
    transcriptRetentionDays: String(g?.transcriptRetentionDays ?? 30),
    staffReplyCooldownMinutes: String(g?.staffReplyCooldownMinutes ?? 30),
    ticketTypes: g ? g.ticketTypes.map((t) => typeForm(t, topicId)) : [typeForm(null, topicId)],
  };
}

/**
 * The server's validation error for `field` or for one of its items (`staffRoleIds[1]` belongs to
 * `staffRoleIds`), else null.
 */
function errorFor(error: unknown, field: string): string | null {
  if (!(error instanceof ApiError) || !error.field) return null;
  return error.field === field || error.field.startsWith(`${field}[`) ? error.message : null;
}

/** A labelled input with the server's error for its field below it. */
function Row({ form, field, label, error, hint, children }: {
  form: string; field: string; label: string; error: unknown; hint?: ReactNode;
  children: (a: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode;
}) {
  const message = errorFor(error, field);
  const id = `${form}-${field}`.replace(/[^\w-]/g, '_');
  return (
    <div className="field" data-field={field}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': !!message, 'aria-describedby': message ? `${id}-error` : undefined })}
      {hint && <div className="muted hint">{hint}</div>}
      {message && <p className="error" role="alert" id={`${id}-error`}>{message}</p>}
    </div>
  );
}

/** Fields the form shows errors next to; any other error shows at the bottom. */
function shownByField(error: unknown, types: number): boolean {
  if (!(error instanceof ApiError) || !error.field) return false;
  const top = ['guildId', 'name', 'panelChannelId', 'transcriptsChannelId', 'staffReviewChannelId', 'learnedTipsChannelId', 'transcriptRetentionDays', 'staffReplyCooldownMinutes', 'staffRoleIds', 'managementRoleIds'];
  if (top.some((f) => errorFor(error, f))) return true;
  const m = /^ticketTypes\[(\d+)\]\.(\w+)/.exec(error.field);
  return !!m && Number(m[1]) < types;
}

function GuildForm({ g, onSaved }: { g: Guild | null; onSaved: () => Promise<void> }) {
  const s = useSession();
  const m = useMutation();
  const firstTopic = s.topics.find((t) => t.active)?.id ?? '';
  const [f, setF] = useState(() => guildForm(g, firstTopic));
  const formId = g ? `guild-${g.id}` : 'guild-new';
  const setType = (i: number, patch: Partial<TypeForm>) =>
    setF({ ...f, ticketTypes: f.ticketTypes.map((t, j) => (j === i ? { ...t, ...patch } : t)) });
  const save = (e: FormEvent) => {
    e.preventDefault();
    const input = {
      guildId: f.guildId.trim(),
      name: f.name.trim(),
      enabled: f.enabled,
      panelChannelId: f.panelChannelId.trim(),
      transcriptsChannelId: f.transcriptsChannelId.trim() || null,
      staffReviewChannelId: f.staffReviewChannelId.trim() || null,
      staffRoleIds: ids(f.staffRoleIds),
      managementRoleIds: ids(f.managementRoleIds),
      sequentialNames: f.sequentialNames,
      learnedTipsChannelId: f.learnedTipsChannelId.trim() || null,
      autoLearn: f.autoLearn,
      transcriptRetentionDays: Number(f.transcriptRetentionDays),
      // An empty box is the default 30 minutes; the server checks the range.
      staffReplyCooldownMinutes: f.staffReplyCooldownMinutes.trim() === '' ? 30 : Math.max(0, Math.trunc(Number(f.staffReplyCooldownMinutes)) || 0),
      ticketTypes: f.ticketTypes.map((t) => ({
        key: t.key.trim(),
        helpTopicId: t.helpTopicId,
        label: t.label.trim(),
        description: t.description.trim() || null,
        categoryId: t.categoryId.trim(),
        enabled: t.enabled,
        roleIds: ids(t.roleIds),
        // An empty box is the default limit of one; the server checks the range.
        openLimit: t.openLimit.trim() === '' ? 1 : Math.max(0, Math.trunc(Number(t.openLimit)) || 0),
        askSubject: t.askSubject,
        askDescription: t.askDescription,
      })),
    };
    void m.run(SAVE_GUILD, { id: g?.id ?? null, input }, async () => {
      if (!g) setF(guildForm(null, firstTopic));
      await onSaved();
    }, g ? 'Guild saved' : 'Guild linked');
  };
  const ticketTypesError = m.error instanceof ApiError && m.error.field === 'ticketTypes' ? m.error.message : null;
  return (
    <form className="panel form" onSubmit={save} noValidate aria-label={g ? `Discord guild ${g.name}` : 'Link a Discord guild'} style={{ marginTop: 12 }}>
      <h2 style={{ margin: 0 }}>{g ? g.name : 'Link a Discord guild'}</h2>
      {g && <DeploymentState d={g.deployment} />}
      {g && (
        <p className="muted" data-testid="panel-state">
          {g.panelError ? <span className="error">Panel not posted: {g.panelError}</span> : g.panelMessageId ? `Panel posted (message ${g.panelMessageId})` : 'Panel not posted yet'}
        </p>
      )}
      <div className="grid2">
        <Row form={formId} field="guildId" label="Guild id" error={m.error} hint="Discord's id of the server (Developer Mode: right-click the server, Copy Server ID).">
          {(a) => <input {...a} value={f.guildId} onChange={(e) => setF({ ...f, guildId: e.target.value })} />}
        </Row>
        <Row form={formId} field="name" label="Name" error={m.error}>
          {(a) => <input {...a} value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} />}
        </Row>
        <Row form={formId} field="panelChannelId" label="Panel channel id" error={m.error} hint="The text channel the ticket panel is posted in.">
          {(a) => <input {...a} value={f.panelChannelId} onChange={(e) => setF({ ...f, panelChannelId: e.target.value })} />}
        </Row>
        <Row form={formId} field="transcriptsChannelId" label="Transcripts channel id" error={m.error} hint="Where closed tickets' transcripts are posted. Empty: none.">
          {(a) => <input {...a} value={f.transcriptsChannelId} onChange={(e) => setF({ ...f, transcriptsChannelId: e.target.value })} />}
        </Row>
        <Row form={formId} field="staffReviewChannelId" label="Staff review channel id" error={m.error} hint="Where a member's Request human is posted, mentioning the staff roles. Empty: none.">
          {(a) => <input {...a} value={f.staffReviewChannelId} onChange={(e) => setF({ ...f, staffReviewChannelId: e.target.value })} />}
        </Row>
        <Row form={formId} field="learnedTipsChannelId" label="Learned tips channel id" error={m.error} hint="Where tips learned from closed tickets are summarised. Empty: none.">
          {(a) => <input {...a} value={f.learnedTipsChannelId} onChange={(e) => setF({ ...f, learnedTipsChannelId: e.target.value })} />}
        </Row>
        <Row form={formId} field="transcriptRetentionDays" label="Transcript retention" error={m.error}>
          {(a) => (
            <select {...a} value={f.transcriptRetentionDays} onChange={(e) => setF({ ...f, transcriptRetentionDays: e.target.value })}>
              <option value="30">30 days</option>
              <option value="60">60 days</option>
              <option value="90">90 days</option>
              <option value="0">Forever</option>
            </select>
          )}
        </Row>
        <Row form={formId} field="staffReplyCooldownMinutes" label="Staff reply cooldown (minutes)" error={m.error} hint="After a staff message the answer bot waits this long before replying again; 0 turns the pause off (0-1440).">
          {(a) => <input {...a} type="number" min={0} max={1440} value={f.staffReplyCooldownMinutes} onChange={(e) => setF({ ...f, staffReplyCooldownMinutes: e.target.value })} />}
        </Row>
        <Row form={formId} field="staffRoleIds" label="Staff role ids" error={m.error} hint="Separated by commas. Members with these roles see every ticket channel; their messages are staff replies.">
          {(a) => <input {...a} value={f.staffRoleIds} onChange={(e) => setF({ ...f, staffRoleIds: e.target.value })} />}
        </Row>
        <Row form={formId} field="managementRoleIds" label="Management role ids" error={m.error} hint="The second tier, for sensitive tickets.">
          {(a) => <input {...a} value={f.managementRoleIds} onChange={(e) => setF({ ...f, managementRoleIds: e.target.value })} />}
        </Row>
      </div>
      <div className="row">
        <label className="inline"><input type="checkbox" checked={f.enabled} onChange={(e) => setF({ ...f, enabled: e.target.checked })} /> Enabled</label>
        <label className="inline"><input type="checkbox" checked={f.autoLearn} onChange={(e) => setF({ ...f, autoLearn: e.target.checked })} /> Auto-learn from tickets</label>
        <label className="inline"><input type="checkbox" checked={f.sequentialNames} onChange={(e) => setF({ ...f, sequentialNames: e.target.checked })} /> Name ticket channels ticket-&lt;number&gt;</label>
      </div>
      <fieldset style={{ border: 'none', padding: 0, margin: 0 }}>
        <legend><strong>Ticket types</strong> <span className="muted">(help topics offered on the panel)</span></legend>
        {ticketTypesError && <p className="error" role="alert">{ticketTypesError}</p>}
        {f.ticketTypes.map((t, i) => {
          const field = (name: string) => `ticketTypes[${i}].${name}`;
          return (
            <div key={i} className="panel form" style={{ marginTop: 8 }} role="group" aria-label={`Ticket type ${i + 1}`}>
              <div className="grid2">
                <Row form={formId} field={field('label')} label="Label" error={m.error} hint="The panel button's text.">
                  {(a) => <input {...a} value={t.label} onChange={(e) => setType(i, { label: e.target.value })} />}
                </Row>
                <Row form={formId} field={field('key')} label="Key" error={m.error} hint="Lower-case letters, digits and '-'.">
                  {(a) => <input {...a} value={t.key} onChange={(e) => setType(i, { key: e.target.value })} />}
                </Row>
                <Row form={formId} field={field('helpTopicId')} label="Help topic" error={m.error}>
                  {(a) => (
                    <select {...a} value={t.helpTopicId} onChange={(e) => setType(i, { helpTopicId: e.target.value })}>
                      <option value="">Choose…</option>
                      {s.topics.map((h) => <option key={h.id} value={h.id}>{h.name}</option>)}
                    </select>
                  )}
                </Row>
                <Row form={formId} field={field('categoryId')} label="Category id" error={m.error} hint="Its ticket channels are created here; a full category overflows into a new one.">
                  {(a) => <input {...a} value={t.categoryId} onChange={(e) => setType(i, { categoryId: e.target.value })} />}
                </Row>
                <Row form={formId} field={field('description')} label="Description" error={m.error}>
                  {(a) => <input {...a} value={t.description} onChange={(e) => setType(i, { description: e.target.value })} />}
                </Row>
                <Row form={formId} field={field('roleIds')} label="Only for role ids" error={m.error} hint="Empty: everyone may open this type.">
                  {(a) => <input {...a} value={t.roleIds} onChange={(e) => setType(i, { roleIds: e.target.value })} />}
                </Row>
                <Row form={formId} field={field('openLimit')} label="Open tickets per member" error={m.error} hint="Of this type at once; 0 for no limit.">
                  {(a) => <input {...a} type="number" min={0} value={t.openLimit} onChange={(e) => setType(i, { openLimit: e.target.value })} />}
                </Row>
              </div>
              <div className="row">
                <label className="inline"><input type="checkbox" checked={t.enabled} onChange={(e) => setType(i, { enabled: e.target.checked })} /> Enabled</label>
                <label className="inline"><input type="checkbox" checked={t.askSubject} onChange={(e) => setType(i, { askSubject: e.target.checked })} /> Ask for a subject</label>
                <label className="inline"><input type="checkbox" checked={t.askDescription} onChange={(e) => setType(i, { askDescription: e.target.checked })} /> Ask for a description</label>
                {f.ticketTypes.length > 1 && (
                  <button type="button" onClick={() => setF({ ...f, ticketTypes: f.ticketTypes.filter((_, j) => j !== i) })}>Remove ticket type</button>
                )}
              </div>
            </div>
          );
        })}
        <div className="row" style={{ marginTop: 8 }}>
          <button type="button" onClick={() => setF({ ...f, ticketTypes: [...f.ticketTypes, typeForm(null, firstTopic)] })}>Add ticket type</button>
        </div>
      </fieldset>
      <Feedback error={shownByField(m.error, f.ticketTypes.length) || ticketTypesError ? null : m.error} notice={m.notice} />
      <div className="row">
        <button className="primary">{g ? 'Save guild' : 'Link guild'}</button>
        {g && (
          <button type="button" className="danger" onClick={() => {
            if (window.confirm(`Unlink ${g.name}? Its tickets stay.`)) void m.run(DELETE_GUILD, { id: g.id }, onSaved, 'Guild unlinked');
          }}>Unlink</button>
        )}
      </div>
    </form>
  );
}

/** A guild's deployment as `/switchboard view` shows it: status, what is missing, the next step. */
function DeploymentState({ d }: { d: DiscordDeployment }) {
  const badge = d.status === 'READY' ? 'status-RESOLVED' : d.status === 'PARTIAL' ? 'priority-HIGH' : 'priority-URGENT';
  const label = d.status === 'READY' ? 'Ready' : d.status === 'PARTIAL' ? 'Partial' : 'Pending';
  return (
    <div role="group" aria-label="Deployment">
      <p><strong>Deployment:</strong> <span className={`badge ${badge}`} data-testid="deployment-status">{label}</span></p>
      {d.missing.length > 0 && <p className="muted">Missing: {d.missing.join(', ')}</p>}
      <p data-testid="next-step"><strong>Next step:</strong> {d.nextStep}</p>
    </div>
  );
}

/** Linking a Discord server from inside Discord: a one-time code, shown once. */
function LinkCode({ linked }: { linked: boolean }) {
  const m = useMutation();
  const [code, setCode] = useState<{ code: string; expiresAt: string; nextStep: string } | null>(null);
  return (
    <div className="panel" role="region" aria-label="Set up from Discord" style={{ marginTop: 12 }}>
      <h2 style={{ margin: 0 }}>Set up from Discord</h2>
      {!linked && (
        <>
          <p><strong>Deployment:</strong> <span className="badge priority-URGENT" data-testid="deployment-status">Pending</span></p>
          <p data-testid="next-step"><strong>Next step:</strong> {LINK_FIRST}</p>
        </>
      )}
      {code && (
        <p>
          Link code: <code data-testid="link-code">{code.code}</code>{' '}
          <span className="muted">(works once, until {new Date(code.expiresAt).toLocaleTimeString()})</span>
          <br />{code.nextStep}
        </p>
      )}
      <Feedback error={m.error} notice="" />
      <button type="button" onClick={() => void m.run<{ createDiscordLinkCode: { code: string; expiresAt: string; nextStep: string } }>(
        CREATE_LINK_CODE, {}, (d) => setCode(d.createDiscordLinkCode), 'Link code created')}>Create link code</button>
    </div>
  );
}

function Gateway({ gw, onRefresh }: { gw: DiscordGateway; onRefresh: () => void }) {
  const state = !gw.configured ? 'Not configured' : gw.connected ? 'Connected' : gw.standby ? 'Standing by' : 'Disconnected';
  return (
    <div className="panel" aria-label="Gateway" role="region">
      <div className="row spread">
        <h2 style={{ margin: 0 }}>Gateway</h2>
        <button type="button" onClick={onRefresh}>Refresh</button>
      </div>
      <p>
        <span className={`badge ${gw.connected ? 'status-RESOLVED' : 'priority-URGENT'}`} data-testid="gateway-state">{state}</span>
        {gw.configured && <span className="muted"> · {gw.sessions} sessions, {gw.resumes} resumes</span>}
      </p>
      {!gw.configured && (
        <p className="muted">Set <code>SWITCHBOARD_DISCORD_TOKEN</code> and <code>SWITCHBOARD_DISCORD_APPLICATION_ID</code> in the server's configuration and restart it to connect the bot.</p>
      )}
      {gw.standby && <p className="muted">Another server of this deployment holds the gateway connection.</p>}
      {gw.lastError && <p className="error">Last error: {gw.lastError}</p>}
      <div role="group" aria-label="Guilds on the gateway">
        <strong>Linked guilds the bot is in:</strong>{' '}
        {gw.guilds.length === 0 ? <span className="muted">none</span> : gw.guilds.map((g) => <span key={g.id} className="badge" style={{ marginRight: 4 }}>{g.name} ({g.id})</span>)}
      </div>
    </div>
  );
}

export function DiscordPage() {
  const { data, error, reload } = useQuery<{ discordGateway: DiscordGateway; discordGuilds: Guild[] }>(DISCORD);
  return (
    <Page title="Discord">
      <ErrorText error={error} />
      {data && <Gateway gw={data.discordGateway} onRefresh={() => void reload()} />}
      {data && <LinkCode linked={data.discordGuilds.length > 0} />}
      {data?.discordGuilds.map((g) => <GuildForm key={`${g.id}`} g={g} onSaved={reload} />)}
      {data && <GuildForm g={null} onSaved={reload} />}
    </Page>
  );
}
