// The admin area (a separate chunk): picks the page for the path. Each page lives in its own file
// in this folder.
import { AlertsPage } from './Alerts';
import { ApiTokensPage } from './ApiTokens';
import { AutomationPage } from './Automation';
import { CannedResponsesPage } from './CannedResponses';
import { DiscordPage } from './Discord';
import { HelpTopicsPage } from './HelpTopics';
import { QueuesPage } from './Queues';
import { RoutingPage } from './Routing';
import { SlaPage } from './Sla';
import { SuggestedMacrosPage } from './SuggestedMacros';
import { TeamPage } from './Team';
import { WebhooksPage } from './Webhooks';

export default function AdminPage({ path }: { path: string }) {
  switch (path) {
    case '/admin/routing':
      return <RoutingPage />;
    case '/admin/topics':
      return <HelpTopicsPage />;
    case '/admin/canned':
      return <CannedResponsesPage />;
    case '/admin/sla':
      return <SlaPage />;
    case '/admin/automation':
      return <AutomationPage />;
    case '/admin/webhooks':
      return <WebhooksPage />;
    case '/admin/team':
      return <TeamPage />;
    case '/admin/macros':
      return <SuggestedMacrosPage />;
    case '/admin/alerts':
      return <AlertsPage />;
    case '/admin/discord':
      return <DiscordPage />;
    case '/admin/tokens':
      return <ApiTokensPage />;
    default:
      return <QueuesPage />;
  }
}
