/** Chart colours as literal hex (SVG attributes do not resolve CSS variables, and exports must stand alone). */
export const C = {
  blue: '#2f6fdb',
  blueFaint: '#9db8ea',
  orange: '#e07b39',
  teal: '#2a9d8f',
  purple: '#9b5de5',
  red: '#d64550',
  grey: '#6c757d',
  olive: '#8a9a2b',
  brown: '#8c5a3c',
};

/** Distinct colours for overlaid runs. */
export const RUN_COLORS = [C.blue, C.orange, C.teal, C.purple, C.red, C.grey, C.olive, C.brown];
