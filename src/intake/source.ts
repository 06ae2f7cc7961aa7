// Where a submission came from: `source_key`, a stable opaque 8-hex token per submitter derived
// with a server secret (so keys cannot be linked back to users), and `source_country`.
import { createHmac, randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';

export class SourceKeys {
  private constructor(private readonly secret: string) {}

  /** Loads the server secret, creating it on first use (shared by every process via the store). */
  static async open(store: Store): Promise<SourceKeys> {
    const secret = await store.setSettingIfAbsent('source_key_secret', randomBytes(32).toString('hex'));
    return new SourceKeys(secret);
  }

  keyOf(userId: number): string {
    return createHmac('sha256', this.secret).update(`user:${userId}`).digest('hex').slice(0, 8);
  }
}

/** Looks up a country for a client address; implementations: configured header, MaxMind file. */
export type CountryLookup = (ip: string, headers: Record<string, string | string[] | undefined>) => string;

const ISO2 = /^[A-Z]{2}$/;

/** The country from a trusted header set by a proxy in front of Trawl (e.g. cf-ipcountry). */
export function headerCountry(header: string): CountryLookup {
  const name = header.toLowerCase();
  return (_ip, headers) => {
    const raw = headers[name];
    const v = (Array.isArray(raw) ? raw[0] : raw)?.trim().toUpperCase() ?? '';
    return ISO2.test(v) ? v : '';
  };
}

/** The country from a MaxMind (GeoLite2/GeoIP2 Country or City) database file. */
export async function maxmindCountry(path: string): Promise<CountryLookup> {
  const { Reader } = await import('mmdb-lib');
  type CountryResponse = import('mmdb-lib').CountryResponse;
  const { readFile } = await import('node:fs/promises');
  const reader = new Reader<CountryResponse>(await readFile(path));
  return (ip) => {
    try {
      const r = reader.get(ip);
      const v = r?.country?.iso_code ?? r?.registered_country?.iso_code ?? '';
      return ISO2.test(v) ? v : '';
    } catch {
      return '';
    }
  };
}

/** Combines lookups: the first non-empty answer wins; none configured gives ''. */
export function countryLookup(lookups: CountryLookup[]): CountryLookup {
  return (ip, headers) => {
    for (const l of lookups) {
      const c = l(ip, headers);
      if (c) return c;
    }
    return '';
  };
}
