// API keys: 256 bits of entropy, 64 hex characters like VirusTotal's, stored only as sha256.
import { createHash, randomBytes } from 'node:crypto';

export const newApiKey = () => randomBytes(32).toString('hex');
export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');
export const looksLikeApiKey = (s: string) => /^[0-9a-f]{64}$/.test(s);
