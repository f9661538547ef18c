// Tops up the pending invitations of the peer's organization to a target count by writing rows
// straight into its SQLite file (bench/sidebyside.sh, the list benchmark at 10^4 pending). Going
// through the API instead would take minutes: each invite-member call reads every pending
// invitation of the organization to check invitationLimit. Each new row is a copy of an invitation
// the API itself wrote, with a new id and email, so the stored format is exactly better-auth's.
//
// Usage: node seed.mjs DB_PATH ORGANIZATION_ID TARGET_PENDING
// Prints the number of pending invitations after the top-up. Safe beside the running server: one
// WAL write transaction, which its connection sees on its next read.
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

const [dbPath, orgId, targetText] = process.argv.slice(2);
const target = Number.parseInt(targetText ?? "", 10);
if (!dbPath || !orgId || !Number.isFinite(target) || target < 0 || target > 10_000_000) {
  console.error("usage: node seed.mjs DB_PATH ORGANIZATION_ID TARGET_PENDING");
  process.exit(2);
}
const db = new Database(dbPath, { timeout: BUSY_TIMEOUT_MS });
const countPending = db.prepare(
  "SELECT count(*) AS n FROM invitation WHERE organizationId = ? AND status = 'pending'",
);
const model = db
  .prepare("SELECT * FROM invitation WHERE organizationId = ? AND status = 'pending' LIMIT 1")
  .get(orgId);
if (!model) {
  console.error("seed.mjs: no pending invitation to copy in that organization");
  process.exit(1);
}
const columns = Object.keys(model);
const insert = db.prepare(
  `INSERT INTO invitation (${columns.map((c) => `"${c}"`).join(", ")}) ` +
    `VALUES (${columns.map((c) => `@${c}`).join(", ")})`,
);
const topUp = db.transaction((missing) => {
  for (let i = 0; i < missing; i++)
    insert.run({ ...model, id: newId(), email: `seed${i}.${newId().slice(0, 8)}@bench.example.com` });
});
const missing = target - countPending.get(orgId).n;
if (missing > 0) topUp(missing);
console.log(countPending.get(orgId).n);
db.close();
