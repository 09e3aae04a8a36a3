// The signed-in staff member: token, who they are, and the workspace's reference data
// (staff, queues, help topics) that filters and forms share.
import { createContext, useContext } from 'react';
import { gql, request } from '../api/client';
import type { HelpTopic, Queue, User, Viewer } from '../api/schema';

export type Me = Pick<Viewer, 'name' | 'permissions' | 'userId'> & { workspace: Pick<Viewer['workspace'], 'name' | 'slug' | 'ticketPrefix' | 'timeZone'> };
export type StaffRef = Pick<User, 'id' | 'name' | 'email' | 'active'>;
export type QueueRef = Pick<Queue, 'id' | 'name' | 'isDefault'>;
export type TopicRef = Pick<HelpTopic, 'id' | 'name' | 'active' | 'defaultPriority' | 'defaultQueueId' | 'defaultAssigneeId' | 'dueOffsetMinutes'>;

export interface Session {
  token: string;
  me: Me;
  users: StaffRef[];
  queues: QueueRef[];
  topics: TopicRef[];
  can: (permission: 'view' | 'manage' | 'reassign' | 'admin') => boolean;
  signOut: () => void;
  /** Swaps in a new token for this session (after a password change). */
  replaceToken: (token: string) => void;
  reload: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

const BOOT = gql`
  query Boot {
    me { name permissions userId workspace { name slug ticketPrefix timeZone } }
    users { id name email active }
    queues { id name isDefault }
    helpTopics { id name active defaultPriority defaultQueueId defaultAssigneeId dueOffsetMinutes }
  }
`;

export async function boot(token: string) {
  const d = await request<{ me: Me; users: StaffRef[]; queues: QueueRef[]; helpTopics: TopicRef[] }>(token, BOOT);
  return { me: d.me, users: d.users, queues: d.queues, topics: d.helpTopics };
}

/** The `@handle` that mentions a staff member in a note: the local part of their email. */
export function handleOf(email: string): string {
  return email.split('@')[0];
}
