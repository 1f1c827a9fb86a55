/**
 * Administration: users (create, disable, make admin, reset password, delete, their tokens), the
 * audit log with filters, system-wide webhooks, replication, and system lifecycle (garbage collection runs) when the registry has it.
 */
import { NavLink, useParams } from 'react-router';
import { Empty } from '../components/feedback';
import { useApi, useTitle } from '../hooks';
import { useSession } from '../session';
import { AuditLog } from './audit';
import { JsonFacts } from './lifecycle';
import { Replication } from './replication';
import { Users } from './users';
import { Webhooks } from './webhooks';

export function AdminPage() {
  const { tab = 'users' } = useParams();
  useTitle('Administration');
  const { user, ready } = useSession();
  // Probe once here so the tab shows only when the registry offers garbage collection.
  const gc = useApi('/gc');
  const hasGc = gc.data !== undefined;
  if (ready && !user?.admin) return <Empty title="Administration is for administrators.">Sign in with an administrator account.</Empty>;
  return (
    <>
      <h1>Administration</h1>
      <nav aria-label="Administration" className="tabs">
        <NavLink to="/admin/users">Users</NavLink>
        <NavLink to="/admin/audit">Audit log</NavLink>
        <NavLink to="/admin/webhooks">Webhooks</NavLink>
        <NavLink to="/admin/replication">Replication</NavLink>
        {hasGc ? <NavLink to="/admin/gc">Garbage collection</NavLink> : null}
      </nav>
      {tab === 'users' ? <Users /> : null}
      {tab === 'audit' ? <AuditLog /> : null}
      {tab === 'webhooks' ? <Webhooks project={null} /> : null}
      {tab === 'replication' ? <Replication /> : null}
      {tab === 'gc' && hasGc ? (
        <section className="card" aria-label="Garbage collection">
          <h2>Garbage collection</h2>
          <JsonFacts value={gc.data} />
        </section>
      ) : null}
    </>
  );
}
