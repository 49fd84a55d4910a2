/** A number or select bound to one dotted path of the draft RunConfig, with its issues. */
import { useShallow } from 'zustand/react/shallow';
import { getIn } from '../draft';
import { useStudio } from '../store';
import { issuesAt } from '../validate';
import { Field } from './Field';
import { NumberInput } from './NumberInput';

export function useIssues(path: string, prefix = false) {
  return useStudio(useShallow((s) => issuesAt(s.validation.issues, path, { prefix })));
}

export function ConfigNumber({ path, label, help }: { path: string; label: string; help?: string }) {
  const value = useStudio((s) => getIn(s.draft, path)) as number;
  const setField = useStudio((s) => s.setField);
  const issues = useIssues(path);
  const id = path.replace(/\./g, '-');
  return (
    <Field label={label} htmlFor={id} issues={issues} help={help} testid={`field-${id}`}>
      <NumberInput
        id={id}
        value={typeof value === 'number' ? value : NaN}
        onChange={(v) => setField(path, v)}
        invalid={issues.some((i) => i.level === 'error')}
      />
    </Field>
  );
}

export function ConfigSelect({
  path,
  label,
  options,
  help,
}: {
  path: string;
  label: string;
  options: readonly string[];
  help?: string;
}) {
  const value = useStudio((s) => getIn(s.draft, path)) as string;
  const setField = useStudio((s) => s.setField);
  const issues = useIssues(path);
  const id = path.replace(/\./g, '-');
  return (
    <Field label={label} htmlFor={id} issues={issues} help={help} testid={`field-${id}`}>
      <select id={id} value={value} onChange={(e) => setField(path, e.target.value)} data-testid={`input-${id}`}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </Field>
  );
}
