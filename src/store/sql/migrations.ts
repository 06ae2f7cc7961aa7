// Schema migrations, written once for SQLite and PostgreSQL and run whenever a store is opened.
// Kysely's Migrator records applied migrations; concurrent openers are serialised by a PostgreSQL
// advisory lock (Kysely's) or SQLite's write lock (ours).
import {
  Migrator,
  sql,
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
} from 'kysely';
import { columnsBack, contextOnly } from './context-migration.js';
import type { SqlDialect } from './dialect.js';
import { addChangeMarks, dropChangeMarks } from './file-changes.js';
import { addTrigramIndexes, dropTrigramIndexes } from './trigram-index.js';
import type { Database } from './schema.js';

/** The tables a bulk deletion of notifications empties in bulk. */
const NOTIFICATION_TABLES = ['hunting_notifications', 'hunting_notification_tags'];

/** The columns Intelligence search orders files by (model/file-search.ts SEARCH_ORDER_FIELDS). */
const SEARCH_ORDER_COLUMNS = ['last_submission_date', 'first_submission_date', 'size', 'times_submitted'];

/** Every migration, in order. Never edit one that shipped: add a new one. */
function allMigrations(dialect: SqlDialect['name']): Record<string, Migration> {
  // An auto-increment key is the one column type that cannot be spelt portably: SQLite only
  // aliases the rowid for exactly "integer primary key".
  const idType = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        const id = <T extends string>(t: CreateTableBuilder<T, never>) =>
          t.addColumn('id', idType, (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          );
        await db.schema.createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
        await id(db.schema.createTable('users'))
          .addColumn('username', 'text', (c) => c.notNull().unique())
          .addColumn('email', 'text')
          .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('apikey_hash', 'text', (c) => c.notNull().unique())
          .execute();
        await db.schema.createTable('files')
          .addColumn('sha256', 'text', (c) => c.primaryKey())
          .addColumn('sha1', 'text', (c) => c.notNull())
          .addColumn('md5', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('magic', 'text')
          .addColumn('type_description', 'text')
          .addColumn('type_tag', 'text')
          .addColumn('type_tags', 'text')
          .addColumn('type_extension', 'text')
          .addColumn('tags', 'text')
          .addColumn('names', 'text', (c) => c.notNull())
          .addColumn('first_submission_date', 'bigint', (c) => c.notNull())
          .addColumn('last_submission_date', 'bigint', (c) => c.notNull())
          .addColumn('last_analysis_date', 'bigint')
          .addColumn('times_submitted', 'bigint', (c) => c.notNull())
          .addColumn('unique_sources', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('files_sha1_idx').on('files').column('sha1').execute();
        await db.schema.createIndex('files_md5_idx').on('files').column('md5').execute();
        await db.schema.createTable('file_sources')
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('source_key', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('file_sources_pk', ['sha256', 'source_key'])
          .execute();
        await id(db.schema.createTable('submissions'))
          .addColumn('analysis_id', 'text', (c) => c.notNull().unique())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('user_id', 'bigint', (c) => c.notNull())
          .addColumn('date', 'bigint', (c) => c.notNull())
          .addColumn('name', 'text')
          .addColumn('source_key', 'text', (c) => c.notNull())
          .addColumn('source_country', 'text', (c) => c.notNull())
          .addColumn('password', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('completed_at', 'bigint')
          .execute();
        await db.schema.createIndex('submissions_sha256_idx').on('submissions').column('sha256').execute();
        await id(db.schema.createTable('jobs'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('run_after', 'bigint', (c) => c.notNull())
          .addColumn('locked_by', 'text')
          .addColumn('locked_until', 'bigint')
          .addColumn('last_error', 'text')
          .execute();
        // Claiming reads "run_after <= now order by run_after": a range scan on this index.
        await db.schema.createIndex('jobs_claim_idx').on('jobs').columns(['run_after', 'id']).execute();
        await db.schema.createTable('upload_urls')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('upload_urls_expiry_idx').on('upload_urls').column('expires_at').execute();
      },
      async down(db: Kysely<any>) {
        for (const t of ['upload_urls', 'jobs', 'submissions', 'file_sources', 'files', 'users', 'settings']) {
          await sql`drop table if exists ${sql.table(t)}`.execute(db);
        }
      },
    },
    '0002_hunting_rulesets': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('hunting_rulesets')
          .addColumn('id', idType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('owner_id', 'bigint', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('rules', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull())
          .addColumn('notification_limit', 'bigint', (c) => c.notNull())
          .addColumn('notification_emails', 'text', (c) => c.notNull())
          .addColumn('match_object_type', 'text', (c) => c.notNull())
          .addColumn('tags', 'text', (c) => c.notNull())
          .addColumn('rule_names', 'text', (c) => c.notNull())
          .addColumn('creation_date', 'bigint', (c) => c.notNull())
          .addColumn('modification_date', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('hunting_rulesets_owner_idx').on('hunting_rulesets').column('owner_id').execute();
        await db.schema.createTable('hunting_ruleset_editors')
          .addColumn('ruleset_id', 'bigint', (c) => c.notNull())
          .addColumn('user_id', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('hunting_ruleset_editors_pk', ['ruleset_id', 'user_id'])
          .execute();
        await db.schema.createIndex('hunting_ruleset_editors_user_idx').on('hunting_ruleset_editors').column('user_id').execute();
      },
      async down(db: Kysely<any>) {
        await sql`drop table if exists hunting_ruleset_editors`.execute(db);
        await sql`drop table if exists hunting_rulesets`.execute(db);
      },
    },
    '0003_hunting_notifications': {
      async up(db: Kysely<any>) {
        const big = (t: CreateTableBuilder<any, any>, col: string) => t.addColumn(col, 'bigint', (c) => c.notNull());
        for (const [col, type, dflt] of [
          ['rules_generation', 'bigint', 0], ['limited_from', 'bigint', null], ['limited_until', 'bigint', null],
          ['limited_log', 'text', '[]'], ['slow_scans', 'bigint', 0], ['last_slow_scan', 'text', null],
        ] as const) {
          await db.schema.alterTable('hunting_rulesets')
            .addColumn(col, type, (c) => (dflt === null ? c : c.notNull().defaultTo(dflt))).execute();
        }
        await db.schema.createIndex('hunting_rulesets_name_idx').on('hunting_rulesets').columns(['owner_id', 'name']).execute();
        await db.schema.alterTable('jobs').addColumn('job_key', 'text').execute();
        await db.schema.createIndex('jobs_key_idx').on('jobs').column('job_key').execute();

        // Generations come from one counter row, not a sequence: its row lock makes them commit in
        // order, so a reader that saw generation g can never later find a smaller one appear.
        await db.schema.createTable('counters')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'bigint', (c) => c.notNull())
          .execute();
        await db.insertInto('counters').values({ name: 'rules_generation', value: 0 }).execute();
        await big(db.schema.createTable('ruleset_changes')
          .addColumn('generation', 'bigint', (c) => c.primaryKey())
          .addColumn('ruleset_id', 'bigint', (c) => c.notNull()), 'date').execute();
        await db.schema.createIndex('ruleset_changes_date_idx').on('ruleset_changes').column('date').execute();

        let t = db.schema.createTable('hunting_notifications')
          .addColumn('id', idType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()));
        for (const col of ['owner_id', 'ruleset_id']) t = big(t, col);
        t = t.addColumn('ruleset_name', 'text', (c) => c.notNull());
        t = big(t, 'date');
        t = t.addColumn('entity_type', 'text', (c) => c.notNull()).addColumn('sha256', 'text', (c) => c.notNull());
        t = big(t, 'submission_id');
        t = t.addColumn('rule_name', 'text', (c) => c.notNull())
          .addColumn('rule_tags', 'text', (c) => c.notNull())
          .addColumn('snippet', 'text')
          .addColumn('match_in_subfile', 'integer', (c) => c.notNull())
          .addColumn('source_key', 'text', (c) => c.notNull())
          .addColumn('source_country', 'text', (c) => c.notNull())
          .addColumn('tags', 'text', (c) => c.notNull());
        await t.execute();
        // Every list walks one of these in (date, id) order, after equality on its first columns.
        const n = 'hunting_notifications';
        await db.schema.createIndex('notifications_owner_idx').on(n).columns(['owner_id', 'date', 'id']).execute();
        await db.schema.createIndex('notifications_ruleset_idx').on(n).columns(['ruleset_id', 'date', 'id']).execute();
        await db.schema.createIndex('notifications_entity_idx').on(n).columns(['owner_id', 'sha256', 'date', 'id']).execute();
        // Retention deletes the oldest first, whoever owns them.
        await db.schema.createIndex('notifications_date_idx').on(n).columns(['date', 'id']).execute();
        // One notification per rule per submission, whatever retries happen.
        await db.schema.createIndex('notifications_once_idx').on(n).columns(['submission_id', 'ruleset_id', 'rule_name']).unique().execute();

        await db.schema.createTable('hunting_notification_tags')
          .addColumn('owner_id', 'bigint', (c) => c.notNull())
          .addColumn('tag', 'text', (c) => c.notNull())
          .addColumn('date', 'bigint', (c) => c.notNull())
          .addColumn('notification_id', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('hunting_notification_tags_pk', ['owner_id', 'tag', 'date', 'notification_id'])
          .execute();
        await db.schema.createIndex('notification_tags_id_idx').on('hunting_notification_tags').columns(['notification_id', 'tag']).execute();

        await db.schema.createTable('pending_emails')
          .addColumn('notification_id', 'bigint', (c) => c.primaryKey())
          .addColumn('ruleset_id', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('pending_emails_ruleset_idx').on('pending_emails').column('ruleset_id').execute();
      },
      async down(db: Kysely<any>) {
        for (const t of ['pending_emails', 'hunting_notification_tags', 'hunting_notifications', 'ruleset_changes', 'counters']) {
          await sql`drop table if exists ${sql.table(t)}`.execute(db);
        }
      },
    },
    '0004_subfiles': {
      async up(db: Kysely<any>) {
        // Containers: bundle_info (spec 6.1) as its JSON wire form, written with the analysis.
        await db.schema.alterTable('files').addColumn('bundle_info', 'text').execute();
        // bundled_files / compressed_parents (spec 6.2): one row per parent and distinct child.
        await db.schema.createTable('file_children')
          .addColumn('parent_sha256', 'text', (c) => c.notNull())
          .addColumn('child_sha256', 'text', (c) => c.notNull())
          .addColumn('name', 'text')
          .addPrimaryKeyConstraint('file_children_pk', ['parent_sha256', 'child_sha256'])
          .execute();
        await db.schema.createIndex('file_children_child_idx').on('file_children').columns(['child_sha256', 'parent_sha256']).execute();
      },
      async down(db: Kysely<any>) {
        await sql`drop table if exists file_children`.execute(db);
        await db.schema.alterTable('files').dropColumn('bundle_info').execute();
      },
    },
    '0005_file_revisions': {
      async up(db: Kysely<any>) {
        // Bumped by every update of a files row: pages of notifications reuse a file's serialized
        // attributes while its revision is unchanged, in every process, without reading them.
        await db.schema.alterTable('files').addColumn('revision', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable('files').dropColumn('revision').execute();
      },
    },
    '0006_stream_context': {
      async up(db: Kysely<any>) {
        // The IoC Stream context of each notification as JSON text, written with it (see
        // model/stream-context.ts). Rows stored before this migration get theirs in 0007.
        await db.schema.alterTable('hunting_notifications').addColumn('stream_context', 'text').execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable('hunting_notifications').dropColumn('stream_context').execute();
      },
    },
    '0007_context_only': {
      // The context becomes the only copy of the fields it holds: at 10M notifications the copies
      // pushed the table past the page cache (docs/notes/benchmarks.md, 2026-12-03).
      up: contextOnly,
      down: columnsBack,
    },
    '0008_vacuum_after_deletes': {
      // PostgreSQL only (SQLite removes index entries as it deletes). A deleted notification
      // stays in every index until VACUUM, and autovacuum waits for 20% of a table to be dead:
      // after a filtered DELETE of 10% of 10M notifications it never came, and a page of a
      // ruleset or file whose notifications were all deleted walked their dead entries on every
      // request (16-44 ms of PostgreSQL time per page instead of 0.3). 2% brings it within minutes.
      async up(db: Kysely<any>) {
        if (dialect !== 'postgres') return;
        for (const t of NOTIFICATION_TABLES) {
          await sql`alter table ${sql.table(t)} set (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)`.execute(db);
        }
      },
      async down(db: Kysely<any>) {
        if (dialect !== 'postgres') return;
        for (const t of NOTIFICATION_TABLES) {
          await sql`alter table ${sql.table(t)} reset (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)`.execute(db);
        }
      },
    },
    '0009_file_change_marks': {
      // Pages of notifications stop joining each one to its files row: caches of serialized
      // files follow the feed of changed files instead (file-changes.ts).
      up: (db: Kysely<any>) => addChangeMarks(db, dialect),
      down: (db: Kysely<any>) => dropChangeMarks(db, dialect),
    },
    '0010_job_lanes': {
      // Jobs are claimed fairly across lanes (a user's uploads, the late scans): see jobs.ts.
      async up(db: Kysely<any>) {
        await db.schema.alterTable('jobs').addColumn('lane', 'text', (c) => c.notNull().defaultTo('')).execute();
        await db.schema.createIndex('jobs_lane_idx').on('jobs').columns(['lane', 'run_after', 'id']).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropIndex('jobs_lane_idx').execute();
        await db.schema.alterTable('jobs').dropColumn('lane').execute();
      },
    },
    '0011_failed_jobs': {
      // A job given up on is kept (state `failed`) for `trawl jobs retry`, and its analysis says
      // why it failed instead of completing as an `unknown` file (docs/architecture.md, Durability).
      async up(db: Kysely<any>) {
        await db.schema.alterTable('jobs').addColumn('failed_at', 'bigint').execute();
        await db.schema.alterTable('submissions').addColumn('error_code', 'text').execute();
        await db.schema.alterTable('submissions').addColumn('error_message', 'text').execute();
        await db.schema.alterTable('files').addColumn('analysis_error', 'text').execute();
        // Failed jobs are listed and counted by state; the other states are found by run_after.
        await db.schema.createIndex('jobs_state_idx').on('jobs').columns(['state', 'id']).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropIndex('jobs_state_idx').execute();
        await db.deleteFrom('jobs').where('state', '=', 'failed').execute();
        await db.updateTable('submissions').set({ status: 'completed' }).where('status', '=', 'failed').execute();
        await db.schema.alterTable('files').dropColumn('analysis_error').execute();
        await db.schema.alterTable('submissions').dropColumn('error_message').execute();
        await db.schema.alterTable('submissions').dropColumn('error_code').execute();
        await db.schema.alterTable('jobs').dropColumn('failed_at').execute();
      },
    },
    '0012_processes': {
      // Live processes report themselves (trawl status; which scratch folders are still in use).
      async up(db: Kysely<any>) {
        await db.schema.createTable('processes')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('pid', 'integer', (c) => c.notNull())
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('engine_version', 'text', (c) => c.notNull())
          .addColumn('started_at', 'bigint', (c) => c.notNull())
          .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
          .addColumn('jobs_held', 'integer', (c) => c.notNull())
          .addColumn('lag_ms', 'integer', (c) => c.notNull())
          .addColumn('blob_store', 'text', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('processes').execute();
      },
    },
    '0013_retrohunt_jobs': {
      // Retrohunt jobs (spec 5) and their matches; the job itself runs as a durable `retrohunt` job.
      async up(db: Kysely<any>) {
        await db.schema.createTable('retrohunt_jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('owner_id', 'integer', (c) => c.notNull())
          .addColumn('rules', 'text', (c) => c.notNull())
          .addColumn('notification_email', 'text')
          .addColumn('corpus', 'text', (c) => c.notNull())
          .addColumn('range_start', 'bigint', (c) => c.notNull())
          .addColumn('range_end', 'bigint', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('progress', 'double precision', (c) => c.notNull())
          .addColumn('eta_seconds', 'bigint', (c) => c.notNull())
          .addColumn('scanned_bytes', 'bigint', (c) => c.notNull())
          .addColumn('scanned_files', 'bigint', (c) => c.notNull())
          .addColumn('total_files', 'bigint', (c) => c.notNull())
          .addColumn('num_matches', 'bigint', (c) => c.notNull())
          .addColumn('creation_date', 'bigint', (c) => c.notNull())
          .addColumn('start_date', 'bigint')
          .addColumn('finish_date', 'bigint')
          .addColumn('cursor', 'text')
          .addColumn('dispatched', 'integer', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('retrohunt_jobs_owner_idx').on('retrohunt_jobs').columns(['owner_id', 'creation_date', 'id']).execute();
        await db.schema.createTable('retrohunt_matches')
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('rule_name', 'text', (c) => c.notNull())
          .addColumn('snippet', 'text')
          .addColumn('match_in_subfile', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('retrohunt_matches_pk', ['job_id', 'sha256', 'rule_name'])
          .execute();
      },
      async down(db: Kysely<any>) {
        await sql`drop table if exists retrohunt_matches`.execute(db);
        await sql`drop table if exists retrohunt_jobs`.execute(db);
      },
    },
    '0014_goodware_corpus': {
      // The goodware corpus (records.ts Corpus): which corpora each file is in, and which one each
      // submission adds to. Every file stored before is in the main corpus only.
      async up(db: Kysely<any>) {
        await db.schema.alterTable('files').addColumn('in_main', 'integer', (c) => c.notNull().defaultTo(1)).execute();
        await db.schema.alterTable('files').addColumn('in_goodware', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('submissions').addColumn('corpus', 'text', (c) => c.notNull().defaultTo('main')).execute();
        // A retrohunt job over goodware walks these alone, not every file (retrohunt.ts).
        await db.schema.createIndex('files_goodware_idx').on('files').column('sha256').where(sql.ref('in_goodware'), '=', 1).execute();
      },
      // Going back forgets which files were goodware: they are main files again.
      async down(db: Kysely<any>) {
        await db.schema.dropIndex('files_goodware_idx').execute();
        await db.schema.alterTable('submissions').dropColumn('corpus').execute();
        await db.schema.alterTable('files').dropColumn('in_goodware').execute();
        await db.schema.alterTable('files').dropColumn('in_main').execute();
      },
    },
    '0015_content_index': {
      // The content index (content-index.ts): each file's state in it, the trigrams of files not
      // yet in a segment, and the segments (blobs of the blob store). Files stored before stay
      // at 0 (never indexed: always scanned) until the index job reaches them.
      async up(db: Kysely<any>) {
        await db.schema.alterTable('files').addColumn('content_index', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await sql`create index files_not_indexed_idx on files (sha256) where content_index <> 1`.execute(db);
        await db.schema.createTable('content_index_pending')
          .addColumn('id', idType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('grams', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
          .execute();
        await db.schema.createTable('content_index_segments')
          .addColumn('id', idType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('blob', 'text', (c) => c.notNull())
          .addColumn('files', 'bigint', (c) => c.notNull())
          .addColumn('bytes', 'bigint', (c) => c.notNull())
          .addColumn('level', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('retired_at', 'bigint')
          .execute();
      },
      async down(db: Kysely<any>) {
        await sql`drop table if exists content_index_segments`.execute(db);
        await sql`drop table if exists content_index_pending`.execute(db);
        await sql`drop index if exists files_not_indexed_idx`.execute(db);
        await db.schema.alterTable('files').dropColumn('content_index').execute();
      },
    },
    '0016_retrohunt_abort_reason': {
      // Why an aborted retrohunt job stopped (by its owner, rules that no longer compile, a run
      // that failed every attempt), shown as trawl_abort_reason.
      async up(db: Kysely<any>) {
        await db.schema.alterTable('retrohunt_jobs').addColumn('abort_reason', 'text').execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable('retrohunt_jobs').dropColumn('abort_reason').execute();
      },
    },
    '0017_file_search': {
      // Intelligence search (file-search.ts): each order's walk, ties by sha256, so a page with a
      // cursor starts in the index; and crowdsourced_yara_rule: through a user's notifications.
      async up(db: Kysely<any>) {
        for (const column of SEARCH_ORDER_COLUMNS) {
          await db.schema.createIndex(`files_search_${column}_idx`).on('files').columns([column, 'sha256']).execute();
        }
        await db.schema.createIndex('notifications_rule_idx').on('hunting_notifications').columns(['owner_id', 'rule_name', 'sha256']).execute();
      },
      async down(db: Kysely<any>) {
        for (const column of SEARCH_ORDER_COLUMNS) await db.schema.dropIndex(`files_search_${column}_idx`).execute();
        await db.schema.dropIndex('notifications_rule_idx').execute();
      },
    },
    '0018_groups_quotas': {
      // Groups and their members, rulesets shared with groups, quotas of users and groups, and
      // the usage counted against them (users/quota-meter.ts).
      async up(db: Kysely<any>) {
        await db.schema.createTable('user_groups')
          .addColumn('id', idType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createTable('group_members')
          .addColumn('group_id', 'integer', (c) => c.notNull())
          .addColumn('user_id', 'integer', (c) => c.notNull())
          .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
          .execute();
        await db.schema.createIndex('group_members_user_idx').on('group_members').columns(['user_id', 'group_id']).execute();
        await db.schema.createTable('hunting_ruleset_groups')
          .addColumn('ruleset_id', 'integer', (c) => c.notNull())
          .addColumn('group_id', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('hunting_ruleset_groups_pk', ['ruleset_id', 'group_id'])
          .execute();
        await db.schema.createIndex('hunting_ruleset_groups_group_idx').on('hunting_ruleset_groups').columns(['group_id', 'ruleset_id']).execute();
        await db.schema.createTable('quotas')
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('subject_id', 'integer', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('allowed', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('quotas_pk', ['subject', 'subject_id', 'name'])
          .execute();
        await db.schema.createTable('usage_daily')
          .addColumn('user_id', 'integer', (c) => c.notNull())
          .addColumn('day', 'integer', (c) => c.notNull())
          .addColumn('bucket', 'text', (c) => c.notNull())
          .addColumn('count', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('usage_daily_pk', ['user_id', 'day', 'bucket'])
          .execute();
        await db.schema.createTable('usage_minutes')
          .addColumn('user_id', 'integer', (c) => c.notNull())
          .addColumn('minute', 'bigint', (c) => c.notNull())
          .addColumn('count', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('usage_minutes_pk', ['user_id', 'minute'])
          .execute();
      },
      async down(db: Kysely<any>) {
        for (const t of ['usage_minutes', 'usage_daily', 'quotas', 'hunting_ruleset_groups', 'group_members', 'user_groups']) {
          await sql`drop table if exists ${sql.table(t)}`.execute(db);
        }
      },
    },
    '0019_zip_files': {
      // ZIP files (spec 6.5): stored files packed on request; the ZIP itself is a blob, built by a
      // durable `zip-file` job.
      async up(db: Kysely<any>) {
        await db.schema.createTable('zip_files')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('owner_id', 'integer', (c) => c.notNull())
          .addColumn('hashes', 'text', (c) => c.notNull())
          .addColumn('password', 'text')
          .addColumn('encrypted', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('progress', 'integer', (c) => c.notNull())
          .addColumn('files_ok', 'integer', (c) => c.notNull())
          .addColumn('files_error', 'integer', (c) => c.notNull())
          .addColumn('creation_date', 'bigint', (c) => c.notNull())
          .addColumn('finish_date', 'bigint')
          .addColumn('blob', 'text')
          .addColumn('size', 'bigint')
          .addColumn('error', 'text')
          .execute();
        await db.schema.createIndex('zip_files_owner_idx').on('zip_files').columns(['owner_id', 'creation_date']).execute();
      },
      async down(db: Kysely<any>) {
        await sql`drop table if exists zip_files`.execute(db);
      },
    },
    '0020_community_rules': {
      // Verdicts without antivirus engines: community rulesets (`trawl rules import`) carry their
      // collection and rules' metadata, and each file the latest verdict they gave it.
      async up(db: Kysely<any>) {
        await db.schema.alterTable('hunting_rulesets').addColumn('community', 'text').execute();
        await db.schema.alterTable('files').addColumn('community_scan', 'text').execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable('files').dropColumn('community_scan').execute();
        await db.schema.alterTable('hunting_rulesets').dropColumn('community').execute();
      },
    },
    '0021_trigram_indexes': {
      // `name:` and `magic:` searches through trigram indexes (trigram-index.ts), filled here from
      // the files stored already, writes to `files` waiting meanwhile (figures: bench/trigram-index.ts,
      // docs/notes/benchmarks.md).
      async up(db: Kysely<any>) {
        await addTrigramIndexes(db, dialect);
      },
      async down(db: Kysely<any>) {
        await dropTrigramIndexes(db, dialect);
      },
    },
  };
}

/**
 * Brings the schema up to date, or to the migration named `target` (running `down`s to go back).
 * Safe to call from several processes at once on one database. Throws the underlying error
 * (callers map it) when a migration fails.
 */
export async function migrate(db: Kysely<Database>, dialect: SqlDialect, target?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => allMigrations(dialect.name) };
  const run = async (on: Kysely<Database>, disableTransactions: boolean) => {
    const migrator = new Migrator({ db: on, provider, disableTransactions });
    const { error } = await (target === undefined ? migrator.migrateToLatest() : migrator.migrateTo(target));
    if (error) throw error;
  };
  if (dialect.name === 'postgres') return run(db, false);
  // Kysely takes no lock on SQLite and its deferred BEGIN lets two openers both see "not yet
  // migrated". Holding the write lock (BEGIN IMMEDIATE) from the first read on serialises them.
  await dialect.transaction(db, (tx) => run(tx, true));
}
