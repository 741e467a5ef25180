import { describe, expect, it } from 'vitest';
import { maskPassword } from './location.js';

describe('maskPassword', () => {
  it('masks the password of the user part and of the query, and nothing else', () => {
    expect(maskPassword('postgres://hub:S3cret@db.internal:5432/hub')).toBe('postgres://hub:***@db.internal:5432/hub');
    expect(maskPassword('postgres://hub@db.internal:5432/hub?password=S3cret&sslmode=require')).toBe(
      'postgres://hub@db.internal:5432/hub?password=***&sslmode=require',
    );
    expect(maskPassword('postgres://hub@db/hub?sslpassword=x&sslkey=/k.pem&PASSWORD=y')).toBe(
      'postgres://hub@db/hub?sslpassword=***&sslkey=***&PASSWORD=***',
    );
    expect(maskPassword('postgres://hub@db/hub?application_name=cc')).toBe('postgres://hub@db/hub?application_name=cc');
    expect(maskPassword('not a url')).toBeUndefined();
  });
});
