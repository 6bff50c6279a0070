import { describe, expect, it } from 'vitest';
import { Locator, networkOf } from './geo.js';

describe('locations from the offline database', () => {
  it('knows real addresses of known countries, IPv4 and IPv6', async () => {
    const geo = await Locator.open();
    expect(geo.locate('81.2.69.142').country).toBe('GB');
    expect(geo.locate('5.9.0.1').country).toBe('DE');
    expect(geo.locate('200.160.2.3').country).toBe('BR');
    expect(geo.locate('41.0.0.1').country).toBe('ZA');
    expect(geo.locate('2a00:1450:4001:80b::200e').country).toBe('IE');
    expect(geo.locate('8.8.8.8').asn).toBeNull(); // the default database has countries only
  });

  it('falls back to the /24 or /48 network for addresses it does not know', async () => {
    const geo = await Locator.open();
    expect(geo.locate('10.1.2.3').country).toBe('net:10.1.2.0/24');
    expect(geo.locate('127.0.7.9').country).toBe('net:127.0.7.0/24');
    expect(geo.locate('not an address').country).toBe('net:not an address');
    expect(networkOf('fd00:1:2:3::4')).toBe('net:fd00:1:2::/48');
    expect(networkOf('fd00::4')).toBe('net:fd00:0:0::/48');
    expect(networkOf('2001:db8:aa:bb:cc:dd:ee:ff')).toBe('net:2001:db8:aa::/48');
  });
});
