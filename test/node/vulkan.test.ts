/** The set-up's pure parts: the Mesa version Dawn accepts, and the backports source on the system's own mirror. */
import { describe, expect, test } from 'vitest';
import { MESA_MIN_MAJOR, backportsSource, packageMajor } from '../../src/node/vulkan.js';

describe('finding a lavapipe Dawn accepts', () => {
  test('Debian package versions', () => {
    expect(packageMajor('25.0.7-2~bpo12+1')).toBe(25);
    expect(packageMajor('22.3.6-1+deb12u2')).toBe(22);
    expect(packageMajor('1:24.2.8-1ubuntu1~24.04.1')).toBe(24);
    expect(packageMajor(undefined)).toBeNaN();
    expect(packageMajor('(none)') >= MESA_MIN_MAJOR).toBe(false);
  });

  const MIRROR = 'http://mirror.example/debian';
  const deb822 = `Types: deb\n# a comment\nURIs: ${MIRROR}\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: ${MIRROR}-security\nSuites: bookworm-security\nComponents: main\n`;

  test('a deb822 system: the same mirror, components and keyring, the backports suite', () => {
    expect(backportsSource(deb822, 'bookworm')).toBe(
      `Types: deb\nURIs: ${MIRROR}\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
    );
  });
  test('a one-line sources.list', () => {
    expect(backportsSource(`deb [arch=amd64] ${MIRROR} bookworm main contrib\ndeb ${MIRROR} bookworm-updates main\n`, 'bookworm')).toBe(`deb [arch=amd64] ${MIRROR} bookworm-backports main contrib\n`);
  });
  test('nothing when backports are listed already, or the release is not there', () => {
    expect(backportsSource(`${deb822}\ndeb ${MIRROR} bookworm-backports main\n`, 'bookworm')).toBeUndefined();
    expect(backportsSource(deb822, 'trixie')).toBeUndefined();
  });
});
