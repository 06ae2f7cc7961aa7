// Queries compiled once per shape. Kysely builds and compiles every query from scratch: for an
// IoC Stream page that was ~100 µs, 14% of the server's event loop (docs/notes/benchmarks.md). Lists
// come in a handful of shapes (which filters, how many tags, which order), so each shape is
// built once with markers where the request's values go, and later runs only fill in the
// parameters of its compiled SQL.
import { CompiledQuery, type Compilable, type Kysely } from 'kysely';

/** Stands, in a query built once, for the argument value found at `path`. */
class Marker {
  constructor(readonly path: readonly (string | number)[]) {}
  // The shape key: a marker is its path, whatever value it stands for.
  toJSON(): string {
    return `@${this.path.join('.')}`;
  }
}

/**
 * `args` with each number and string replaced by a marker of its path, except under the keys of
 * `structural` (values the query's form depends on, such as the order, kept and keyed on).
 */
function mark(value: unknown, structural: ReadonlySet<string>, path: (string | number)[] = []): unknown {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'bigint') return new Marker(path);
  if (Array.isArray(value)) return value.map((v, i) => mark(v, structural, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, structural.has(k) ? v : mark(v, structural, [...path, k])]));
  }
  return value;
}

function at(args: unknown, path: readonly (string | number)[]): unknown {
  let v = args as Record<string | number, unknown>;
  for (const k of path) v = v[k] as Record<string | number, unknown>;
  return v;
}

interface Shape {
  sql: string;
  /** Each parameter: a constant of the built query, or a marker to read from the arguments. */
  parameters: readonly unknown[];
}

/**
 * Starts the text of every query compiled here: these come in a bounded set of texts run over and
 * over, so the PostgreSQL store prepares them once per connection (postgres-store.ts).
 */
export const SHAPE_MARK = '/* shape */ ';

export class CompiledShapes {
  private readonly shapes = new Map<string, Shape>();

  constructor(
    private readonly db: Kysely<any>,
    /** Shapes kept: far more than the forms lists take; a bound against unforeseen variety. */
    private readonly capacity = 1000,
  ) {}

  /**
   * Runs what `build(args)` builds, compiled once per `name` and shape of `args`. `build` must
   * decide the query's form only from the keys in `structural`, array lengths and which values
   * are present: every other number and string it reads is a marker, and must go into the query
   * as a value only. `requestMark`: a request's mark (query-signal.ts), put before the text.
   */
  async rows<A, R>(name: string, args: A, structural: readonly string[], build: (args: A) => Compilable<R>, requestMark = ''): Promise<R[]> {
    const marked = mark(args, new Set(structural)) as A;
    const key = `${name} ${JSON.stringify(marked)}`;
    let shape = this.shapes.get(key);
    if (!shape) {
      const compiled = build(marked).compile();
      // A marker spliced into the text instead of passed as a value would fix that value forever.
      if (compiled.sql.includes('[object Object]')) throw new Error(`query ${name} puts an argument in its SQL text`);
      shape = { sql: SHAPE_MARK + compiled.sql, parameters: compiled.parameters };
      if (this.shapes.size >= this.capacity) this.shapes.clear();
      this.shapes.set(key, shape);
    }
    const parameters = shape.parameters.map((p) => (p instanceof Marker ? at(args, p.path) : p));
    return (await this.db.executeQuery(CompiledQuery.raw(requestMark + shape.sql, parameters))).rows as R[];
  }
}

const perDatabase = new WeakMap<Kysely<any>, CompiledShapes>();

/** The shapes compiled for `db`, shared by every query module that runs on it. */
export function shapesOf(db: Kysely<any>): CompiledShapes {
  let shapes = perDatabase.get(db);
  if (!shapes) perDatabase.set(db, (shapes = new CompiledShapes(db)));
  return shapes;
}
