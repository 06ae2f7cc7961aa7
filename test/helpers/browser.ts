// Debian's Chromium for the browser tests, driven by playwright-core (which downloads no browser of
// its own). Null when it is not installed: the tests that need it skip and say so.
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function systemChromium(): string | null {
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}
