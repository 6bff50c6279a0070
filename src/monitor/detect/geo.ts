import { createRequire } from 'node:module';
import { isIPv4, isIPv6 } from 'node:net';
import maxmind, { type Reader, type Response } from 'maxmind';

/** Where a call came from: its country (and autonomous system, where the database knows it). */
export interface Location {
  /** ISO country code, or `net:<network>` for an address the database does not know. */
  country: string;
  /** `AS<number>`, when the database has AS data. */
  asn: string | null;
}

/** The fields read, whatever the database flavour (ip-location-db, GeoLite2 Country/City/ASN). */
type GeoRecord = {
  country_code?: string;
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
  autonomous_system_number?: number;
};

/** The CC0 country database shipped by @ip-location-db/geo-whois-asn-country-mmdb. */
export function defaultGeoDb(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
}

/** The network an address belongs to (/24 for IPv4, /48 for IPv6): stands in for unknown addresses. */
export function networkOf(ip: string): string {
  if (isIPv4(ip)) return `net:${ip.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(ip)) {
    const [head = '', tail] = ip.split('::');
    const left = head.split(':').filter(Boolean);
    const right = tail === undefined ? [] : tail.split(':').filter(Boolean);
    const groups = [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
    return `net:${groups
      .slice(0, 3)
      .map((g) => g.replace(/^0+(?=.)/, ''))
      .join(':')}::/48`;
  }
  return `net:${ip}`;
}

/**
 * Looks addresses up in an offline MaxMind-format database (the default CC0 country database,
 * or any GeoLite2/GeoIP2 file). Nothing is downloaded. Answers are cached per address.
 */
export class Locator {
  private readonly cache = new Map<string, Location>();

  private constructor(
    private readonly reader: Reader<Response>,
    private readonly maxCached = 100_000,
  ) {}

  static async open(file: string = defaultGeoDb()): Promise<Locator> {
    return new Locator(await maxmind.open<Response>(file, { watchForUpdates: false, cache: { max: 0 } }));
  }

  locate(ip: string): Location {
    let hit = this.cache.get(ip);
    if (hit !== undefined) return hit;
    let record: GeoRecord | null = null;
    try {
      record = maxmind.validate(ip) ? (this.reader.get(ip) as GeoRecord | null) : null;
    } catch {
      record = null;
    }
    const country = record?.country_code ?? record?.country?.iso_code ?? record?.registered_country?.iso_code;
    hit = {
      country: country ?? networkOf(ip),
      asn: record?.autonomous_system_number ? `AS${record.autonomous_system_number}` : null,
    };
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(ip, hit);
    return hit;
  }
}
