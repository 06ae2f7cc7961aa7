// GET /api/v3/metadata: what vt-cli's `init` caches (the relationships of each object type, from
// which it builds its `vt file <relationship>` commands) and `vt meta` prints (engines,
// relationships, privileges), plus Trawl's own version and its YARA-X engine's.
import type { FastifyInstance } from 'fastify';
import { versions } from '../../version.js';
import { yaraXEngineVersion } from '../../hunting/engine/yara-x.js';
import { FILE_RELATIONSHIPS } from './files.js';

/** Descriptions of the file relationships; any Trawl serves without one here gets its name. */
const FILE_DESCRIPTIONS: Record<string, string> = {
  analyses: 'Analyses of the file: its uploads and re-analyses, newest first',
  bundled_files: 'Files bundled within the file (unpacked by Trawl)',
  compressed_parents: 'Files that contain the file (it was unpacked from them)',
};

/**
 * Relationships per object type, only those Trawl answers: vt-cli's `vt file relationships`
 * requests every one listed, and prints an error for any that fails.
 */
export const RELATIONSHIPS: Record<string, { name: string; description: string }[]> = {
  file: FILE_RELATIONSHIPS.map((name) => ({
    name,
    description: FILE_DESCRIPTIONS[name] ?? `${name.replace(/_/g, ' ')} (always empty: Trawl has no source for it)`,
  })),
  analysis: [{ name: 'item', description: 'The file the analysis is about' }],
  hunting_ruleset: [
    { name: 'owner', description: 'The user who owns the ruleset' },
    { name: 'editors', description: 'Users who can edit the ruleset' },
    { name: 'viewers', description: 'Users who can view the ruleset (always empty)' },
    { name: 'hunting_notification_files', description: 'Files the ruleset matched, with their notification context' },
  ],
  hunting_notification: [{ name: 'file', description: 'The file that matched' }],
  retrohunt_job: [{ name: 'matching_files', description: 'Files the job matched' }],
  user: [
    { name: 'hunting_rulesets', description: "The user's hunting rulesets and those shared with them" },
    { name: 'hunting_notifications', description: "The user's hunting notifications" },
    { name: 'hunting_notification_files', description: "Files of the user's hunting notifications" },
    { name: 'retrohunt_jobs', description: "The user's Retrohunt jobs" },
  ],
};

export function metadataRoutes() {
  return async (app: FastifyInstance) => {
    app.get('/metadata', async () => {
      const v = versions();
      const yaraX = yaraXEngineVersion();
      return {
        data: {
          // Trawl runs no antivirus engines; `Trawl` is the one engine name its analyses report
          // (a failed analysis's last_analysis_results).
          engines: { Trawl: { engine_name: 'Trawl', engine_version: v.trawl, yara_x_version: yaraX } },
          relationships: RELATIONSHIPS,
          privileges: [],
          trawl: { version: v.trawl, yara_x_version: yaraX, binding: v.binding },
        },
      };
    });
  };
}
