/** A control rendered from a method's ParamSpec (int / float / bool / enum). */
import type { MethodParamSpec as ParamSpec } from '../../engine/adapters/types';
import type { Issue } from '../validate';
import { Field } from './Field';
import { NumberInput } from './NumberInput';

export function ParamControl({
  spec,
  value,
  onChange,
  issues,
}: {
  spec: ParamSpec;
  value: unknown;
  onChange: (v: number | boolean | string) => void;
  issues: Issue[];
}) {
  const id = `param-${spec.key}`;
  const invalid = issues.some((i) => i.level === 'error');
  const range = spec.min !== undefined || spec.max !== undefined ? ` (${spec.min ?? '−∞'}…${spec.max ?? '∞'})` : '';
  return (
    <Field
      label={spec.label}
      htmlFor={id}
      issues={issues}
      help={spec.help ? spec.help + range : range ? `range${range}` : undefined}
      testid={`field-${id}`}
    >
      {spec.type === 'bool' ? (
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(e.target.checked)}
          data-testid={`input-${id}`}
        />
      ) : spec.type === 'enum' ? (
        <select
          id={id}
          value={String(value ?? spec.default)}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={invalid}
          data-testid={`input-${id}`}
        >
          {spec.options?.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      ) : (
        <NumberInput
          id={id}
          value={typeof value === 'number' ? value : Number(spec.default)}
          onChange={onChange}
          invalid={invalid}
        />
      )}
    </Field>
  );
}
