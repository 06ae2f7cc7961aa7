// What every archive writer shares: the files it is given, a fixed time, padding, DOS dates.
/** Path -> content; as a list of pairs, the same name may come twice. */
export type Files = Record<string, Buffer | string> | readonly (readonly [string, Buffer | string])[];

/** The timestamp every writer stores: 2023-11-14 22:13:20 UTC. */
export const TIME = 1_700_000_000;

export const bytes = (c: Buffer | string): Buffer => (typeof c === 'string' ? Buffer.from(c) : c);
export const entries = (files: Files): [string, Buffer][] => (Array.isArray(files) ? files : Object.entries(files)).map(([p, c]) => [p, bytes(c)]);
/** Zeros that pad `length` up to a multiple of `unit`. */
export const pad = (length: number, unit: number): Buffer => Buffer.alloc((unit - (length % unit)) % unit);

/** MS-DOS date (high 16 bits) and time (low 16 bits) of a UNIX time, in UTC. */
export function dosDateTime(unix: number): { date: number; time: number } {
  const d = new Date(unix * 1000);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  return { date, time };
}
