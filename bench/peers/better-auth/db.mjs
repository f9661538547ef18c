// Direct access to the peer's SQLite file for bench/sidebyside.sh, for the two things its HTTP API
// cannot do quickly: name 1,000 pending invitations to cancel (list-invitations answers at most
// 100, better-auth's default findMany limit, and has no paging) and top the pending invitations up
// to 10^4 for the list benchmark (10^4 invite-member calls would add about 25 s to each run).
// Each new row is a copy of an invitation the API itself wrote, with a new id and email, so the
// stored format is exactly better-auth's.
//
// Usage: node db.mjs pending-ids DB_PATH ORGANIZATION_ID COUNT EXCLUDE_ID
//          prints COUNT ids of pending invitations of the organization, other than EXCLUDE_ID
//        node db.mjs top-up DB_PATH ORGANIZATION_ID TARGET_PENDING
//          prints the number of pending invitations after the top-up
// Safe beside the running server: WAL mode, one write transaction.
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ID_LENGTH = 32; // better-auth's generateId() length
const BUSY_TIMEOUT_MS = 10_000;

function newId() {
  const bytes = randomBytes(ID_LENGTH);
  let id = "";
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}

const MAX_COUNT = 10_000_000;
const [command, dbPath, orgId, countText, excludeId] = process.argv.slice(2);
const count = Number.parseInt(countText ?? "", 10);
if (
  !["pending-ids", "top-up"].includes(command) ||
  !dbPath ||
  !orgId ||
  !Number.isFinite(count) ||
  count < 0 ||
  count > MAX_COUNT
) {
  console.error("usage: node db.mjs pending-ids|top-up DB_PATH ORGANIZATION_ID COUNT [EXCLUDE_ID]");
  process.exit(2);
}
const db = new Database(dbPath, { timeout: BUSY_TIMEOUT_MS });
if (command === "pending-ids") {
  const rows = db
    .prepare(
      "SELECT id FROM invitation" +
        " WHERE organizationId = ? AND status = 'pending' AND id <> ? LIMIT ?",
    )
    .all(orgId, excludeId ?? "", count);
  if (rows.length < count) {
    console.error(`db.mjs: only ${rows.length} pending invitations to name`);
    process.exit(1);
  }
  console.log(rows.map((r) => r.id).join("\n"));
  db.close();
  process.exit(0);
}
const countPending = db.prepare(
  "SELECT count(*) AS n FROM invitation WHERE organizationId = ? AND status = 'pending'",
);
const model = db
  .prepare("SELECT * FROM invitation WHERE organizationId = ? AND status = 'pending' LIMIT 1")
  .get(orgId);
if (!model) {
  console.error("db.mjs: no pending invitation to copy in that organization");
  process.exit(1);
}
const columns = Object.keys(model);
const insert = db.prepare(
  `INSERT INTO invitation (${columns.map((c) => `"${c}"`).join(", ")}) ` +
    `VALUES (${columns.map((c) => `@${c}`).join(", ")})`,
);
const topUp = db.transaction((missing) => {
  for (let i = 0; i < missing; i++) {
    const email = `seed${i}.${newId().slice(0, 8)}@bench.example.com`; // new in every top-up
    insert.run({ ...model, id: newId(), email });
  }
});
const missing = count - countPending.get(orgId).n;
if (missing > 0) topUp(missing);
console.log(countPending.get(orgId).n);
db.close();
