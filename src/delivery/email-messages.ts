// The text of Trawl's e-mails: one notification, a digest of several, a slow-ruleset report, and
// the end of a retrohunt job.
import type { NotificationRecord, RetrohuntJobRecord, RetrohuntMatch, RulesetRecord, SlowScan } from '../store/store.js';
import type { Mail } from './mailer.js';

const iso = (unix: number) => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');

function describe(n: NotificationRecord, origin: string): string {
  const lines = [
    `rule:     ${n.ruleName}${n.ruleTags.length ? ` (${n.ruleTags.join(', ')})` : ''}`,
    `file:     ${n.sha256}`,
    `date:     ${iso(n.date)}`,
    `source:   ${n.sourceKey}${n.sourceCountry ? ` (${n.sourceCountry})` : ''}`,
  ];
  if (n.matchInSubfile) lines.push('matched in a file inside the submitted one');
  if (origin) lines.push(`details:  ${origin}/api/v3/files/${n.sha256}`);
  if (n.snippet) lines.push('', n.snippet.replace(/\*begin_highlight\*|\*end_highlight\*/g, ''));
  return lines.join('\n');
}

/**
 * One message for the notifications of one ruleset: a single one names rule and file in its
 * subject; several make a digest. `more` is how many further ones wait for the next message.
 */
export function notificationMail(r: RulesetRecord, list: NotificationRecord[], origin: string, more = 0): Mail {
  const first = list[0]!;
  const subject = list.length === 1
    ? `[Trawl] ${r.name}: ${first.ruleName} matched ${first.sha256}`
    : `[Trawl] ${r.name}: ${list.length} new matches`;
  const body = list.map((n) => describe(n, origin)).join('\n\n----\n\n');
  const tail = more > 0 ? `\n\n(${more} more in the next message)` : '';
  return { to: r.notificationEmails, subject, text: `Hunting ruleset "${r.name}" (${r.id}) matched:\n\n${body}${tail}\n` };
}

export function slowRulesetMail(r: RulesetRecord, scan: SlowScan, to: string[]): Mail {
  const what = scan.timedOut ? `timed out after ${scan.milliseconds} ms` : `took ${scan.milliseconds} ms`;
  return {
    to,
    subject: `[Trawl] ${r.name}: ruleset is slow`,
    text:
      `Hunting ruleset "${r.name}" (${r.id}) ${what} on file ${scan.sha256} (${iso(scan.date)}).\n\n` +
      `Until it is changed, it is scanned on its own so that other rulesets are not held up. Rules ` +
      `with short or common strings, unbounded loops or regular expressions without a fixed part ` +
      `are the usual cause.\n`,
  };
}

/** Matches a retrohunt job's e-mail lists; the rest are read through the API. */
export const RETROHUNT_MAIL_MATCHES = 20;

/**
 * A retrohunt job that ended: what it scanned, how many matches, the first few as
 * `rule sha256`, and why it stopped when it was aborted.
 */
export function retrohuntMail(j: RetrohuntJobRecord, first: RetrohuntMatch[], origin: string): Mail {
  const lines = [
    `Retrohunt job ${j.id} ${j.status}${j.finishDate !== null ? ` at ${iso(j.finishDate)}` : ''}.`,
    '',
    ...(j.status === 'aborted' ? [`reason:   ${j.abortReason ?? 'unknown'}`] : []),
    `scanned:  ${j.scannedFiles} files, ${j.scannedBytes} bytes`,
    `matches:  ${j.numMatches}`,
  ];
  if (origin) lines.push(`details:  ${origin}/api/v3/intelligence/retrohunt_jobs/${encodeURIComponent(j.id)}/matching_files`);
  if (first.length > 0) {
    const more = j.numMatches - first.length;
    lines.push('', `${more > 0 ? `First ${first.length} matches` : 'Matches'} (rule sha256):`, ...first.map((m) => `${m.rule} ${m.sha256}`));
    if (more > 0) lines.push(`(${more} more: trawl retrohunt matches ${j.id})`);
  }
  return { to: [j.notificationEmail!], subject: `[Trawl] retrohunt job ${j.id} ${j.status}`, text: lines.join('\n') + '\n' };
}
