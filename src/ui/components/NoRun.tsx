/** Placeholder for views that need a selected run. */
export function NoRun({ what }: { what: string }) {
  return (
    <div className="empty-state" data-testid="no-run">
      {what}
    </div>
  );
}
