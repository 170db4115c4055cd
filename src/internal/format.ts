/** A number for a table or a dump: as it is when whole, else with `digits` decimals. */
export const fmtNum = (n: number, digits = 1): string =>
  Number.isInteger(n) ? String(n) : n.toFixed(digits);
