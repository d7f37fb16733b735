import { describe, expect, it } from 'vitest';

import { parseQueueAddress, PASSWORD_ENV } from './address.ts';

describe('queue addresses', () => {
  it('reads host, port, database, user and password, and never shows the password', () => {
    const address = parseQueueAddress('redis://fusion:s%40cret@redis.lab:6380/2', {});
    expect(address).toMatchObject({
      host: 'redis.lab',
      port: 6380,
      db: 2,
      username: 'fusion',
      password: 's@cret',
      tls: false,
    });
    expect(address.shown).toBe('redis://fusion:***@redis.lab:6380/2');
    expect(address.shown).not.toContain('cret');
  });

  it('defaults the port and database; rediss means TLS; IPv6 hosts keep their brackets when shown', () => {
    expect(parseQueueAddress('rediss://10.0.0.5', {})).toMatchObject({
      port: 6379,
      db: 0,
      tls: true,
      shown: 'rediss://10.0.0.5:6379',
    });
    expect(parseQueueAddress('redis://[::1]:7000', {})).toMatchObject({
      host: '::1',
      shown: 'redis://[::1]:7000',
    });
  });

  it('takes the password from the environment when the URL has none', () => {
    const address = parseQueueAddress('redis://fusion@h:1', { [PASSWORD_ENV]: 'from-env' });
    expect(address.password).toBe('from-env');
    expect(address.shown).toBe('redis://fusion:***@h:1');
    expect(parseQueueAddress('redis://:in-url@h:1', { [PASSWORD_ENV]: 'from-env' }).password).toBe('in-url');
  });

  it('never quotes a password back in its errors', () => {
    expect(() => parseQueueAddress('redis://u:hunter2@h:1/x', {})).toThrow(
      /^queue "redis:\/\/u:\*\*\*@h:1\/x": database "x"/,
    );
    expect(() => parseQueueAddress('redis://u:hunter2@h:1/x', {})).not.toThrow(/hunter2/);
  });

  it.each([
    ['not a url', /not a URL/],
    ['http://h:1', /scheme http: is not redis: or rediss:/],
    ['redis://h:1/x', /database "x" is not a number/],
    ['redis://h:1/?tls=1', /query and fragment are not read/],
    ['redis://h:1/0#x', /query and fragment are not read/],
  ])('refuses %s by name', (text, reason) => {
    expect(() => parseQueueAddress(text, {})).toThrow(reason);
    expect(() => parseQueueAddress(text, {})).toThrow(
      /expected redis:\/\/\[user:password@\]host:port\[\/db\]/,
    );
  });
});
