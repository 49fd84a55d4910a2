/** One labelled control with its validation messages and help, laid out in the setup grid. */
import type { ReactNode } from 'react';
import type { Issue } from '../validate';

export function Field({
  label,
  htmlFor,
  issues = [],
  help,
  children,
  testid,
}: {
  label: ReactNode;
  htmlFor?: string;
  issues?: Issue[];
  help?: ReactNode;
  children: ReactNode;
  testid?: string;
}) {
  return (
    <div className="field" data-testid={testid}>
      {htmlFor ? <label htmlFor={htmlFor}>{label}</label> : <span className="label">{label}</span>}
      <div>{children}</div>
      {issues.map((i) => (
        <div
          key={i.message}
          className={`field-msg ${i.level === 'warning' ? 'warn' : ''}`}
          role={i.level === 'error' ? 'alert' : undefined}
          data-testid={`issue-${i.path}`}
          data-level={i.level}
        >
          {i.message}
        </div>
      ))}
      {help && issues.length === 0 && <div className="field-help">{help}</div>}
    </div>
  );
}
