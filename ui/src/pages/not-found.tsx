/**
 * Any UI path that matches no page.
 */
import { Link } from 'react-router';
import { Empty } from '../components/feedback';
import { useTitle } from '../hooks';

export function NotFound() {
  useTitle('Not found');
  return (
    <>
      <h1>Page not found</h1>
      <Empty title="There is nothing at this address.">
        <Link to="/">Go to the projects</Link>
      </Empty>
    </>
  );
}
