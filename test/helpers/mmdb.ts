// Writes a tiny MaxMind DB (format 2.0, IPv4, 24-bit records) so tests can exercise a real
// .mmdb lookup without shipping a GeoIP database.
type Value = string | number | Value[] | { [k: string]: Value };

function control(type: number, size: number): Buffer {
  const head = type <= 7 ? [(type << 5) | size] : [size, type - 7];
  if (size >= 29) throw new Error('tiny writer: sizes under 29 only');
  return Buffer.from(head);
}

function uint(type: number, n: number): Buffer {
  const bytes: number[] = [];
  for (let v = BigInt(n); v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

function encode(v: Value, uintType = 6): Buffer {
  if (typeof v === 'string') return Buffer.concat([control(2, Buffer.byteLength(v)), Buffer.from(v)]);
  if (typeof v === 'number') return uint(uintType, v);
  if (Array.isArray(v)) return Buffer.concat([control(11, v.length), ...v.map((x) => encode(x))]);
  const entries = Object.entries(v);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, x]) => [encode(k), encode(x)])]);
}

/** Builds an IPv4 database mapping each CIDR prefix to its record. */
export function writeMmdb(records: [cidr: string, value: Value][]): Buffer {
  const nodes: [number | undefined, number | undefined][] = [[undefined, undefined]];
  const data: Buffer[] = [];
  let dataLength = 0;
  const pending: { node: number; side: 0 | 1; offset: number }[] = [];
  for (const [cidr, value] of records) {
    const [ip, len] = cidr.split('/') as [string, string];
    const bits = ip.split('.').reduce((a, o) => (a << 8) | Number(o), 0) >>> 0;
    let node = 0;
    for (let i = 0; i < Number(len); i++) {
      const side = ((bits >>> (31 - i)) & 1) as 0 | 1;
      if (i === Number(len) - 1) {
        pending.push({ node, side, offset: dataLength });
        break;
      }
      if (nodes[node]![side] === undefined) {
        nodes.push([undefined, undefined]);
        nodes[node]![side] = nodes.length - 1;
      }
      node = nodes[node]![side]!;
    }
    const encoded = encode(value);
    data.push(encoded);
    dataLength += encoded.length;
  }
  const count = nodes.length;
  for (const p of pending) nodes[p.node]![p.side] = count + 16 + p.offset;
  const tree = Buffer.alloc(count * 6);
  nodes.forEach(([l, r], i) => {
    tree.writeUIntBE(l ?? count, i * 6, 3);
    tree.writeUIntBE(r ?? count, i * 6 + 3, 3);
  });
  const meta: Value = {
    node_count: count,
    database_type: 'Trawl-Test-Country',
    languages: ['en'],
    description: { en: 'test database' },
    build_epoch: 1700000000,
  };
  const metaBuf = Buffer.concat([
    control(7, 9),
    ...Object.entries(meta).flatMap(([k, v]) => [encode(k), encode(v)]),
    encode('record_size'), uint(5, 24),
    encode('ip_version'), uint(5, 4),
    encode('binary_format_major_version'), uint(5, 2),
    encode('binary_format_minor_version'), uint(5, 0),
  ]);
  return Buffer.concat([tree, Buffer.alloc(16), ...data, Buffer.from('\xAB\xCD\xEFMaxMind.com', 'latin1'), metaBuf]);
}
