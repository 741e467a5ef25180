/** The page: header with navigation, the search box and the connection indicator, the token prompt when needed, the view. */
import { ConnectionIndicator, TokenPrompt } from './components';
import { Instances } from './instances';
import { Overview } from './overview';
import { href, type Route, useRoute } from './router';
import { RunView } from './run-view';
import { Runs } from './runs';
import { Schemas } from './schemas';
import { Search, SearchBox } from './search';
import { useStore } from './store';
import { TaskPanel } from './task-panel';
import { Tasks } from './tasks';
import { Threads } from './threads';

const NAV = [
  { label: 'Overview', href: href.overview, views: ['overview'] },
  { label: 'Threads', href: href.threads, views: ['threads'] },
  { label: 'Tasks', href: href.tasks, views: ['tasks', 'task'] },
  { label: 'Runs', href: href.runs, views: ['runs', 'run'] },
  { label: 'Instances', href: href.instances, views: ['instances'] },
  { label: 'Schemas', href: href.schemas, views: ['schemas'] },
];

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'overview':
      return <Overview />;
    case 'threads':
      return <Threads id={route.id} />;
    case 'tasks':
      return <Tasks />;
    case 'task':
      return <TaskPanel id={route.id} />;
    case 'runs':
      return <Runs />;
    case 'run':
      return <RunView id={route.id} />;
    case 'instances':
      return <Instances />;
    case 'schemas':
      return <Schemas name={route.name} version={route.version} />;
    case 'search':
      return <Search key={route.q} q={route.q} />;
    default:
      return (
        <p className="muted">
          Nothing here. <a href={href.overview}>Back to the overview</a>
        </p>
      );
  }
}

export function App() {
  const route = useRoute();
  const tokenRequired = useStore((s) => s.tokenRequired);
  return (
    <>
      <header className="top">
        <a className="brand" href={href.overview}>
          claude-comms
        </a>
        <nav className="nav" aria-label="Views">
          {NAV.map((n) => (
            <a key={n.label} href={n.href} aria-current={n.views.includes(route.view) ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <SearchBox current={route.view === 'search' ? route.q : undefined} />
        <ConnectionIndicator />
      </header>
      <main>
        {tokenRequired ? <TokenPrompt /> : null}
        <View route={route} />
      </main>
    </>
  );
}
