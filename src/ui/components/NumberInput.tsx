/**
 * A number box that lets a person type freely ("1e-", "0.") and reports NaN while the text is not
 * a number, so the validator can say so next to the control instead of the box fighting back.
 */
import { useEffect, useState } from 'react';

export function NumberInput({
  id,
  value,
  onChange,
  step,
  min,
  max,
  invalid,
  testid,
}: {
  id: string;
  value: number;
  onChange: (v: number) => void;
  step?: number | 'any';
  min?: number;
  max?: number;
  invalid?: boolean;
  testid?: string;
}) {
  const [text, setText] = useState(() => show(value));
  useEffect(() => {
    // follow outside changes (restore from a link) unless the text already means this value
    setText((t) => (Number(t) === value || (Number.isNaN(value) && Number.isNaN(Number(t))) ? t : show(value)));
  }, [value]);
  return (
    <input
      id={id}
      type="text"
      inputMode="decimal"
      value={text}
      min={min}
      max={max}
      step={step}
      aria-invalid={invalid ? 'true' : 'false'}
      data-testid={testid ?? `input-${id}`}
      onChange={(e) => {
        setText(e.target.value);
        const t = e.target.value.trim();
        onChange(t === '' ? NaN : Number(t));
      }}
    />
  );
}

function show(v: number): string {
  return Number.isFinite(v) ? String(v) : '';
}
