// The peer of bench/sidebyside.sh (issue #5): better-auth with its organization plugin on a SQLite
// file, served by Node's http module through better-auth's own toNodeHandler, on a free
// 127.0.0.1 port. It prepares what the load needs (an owner with a session, an organization, an
// invitee with a session and one invitation addressed to them) and prints it as one JSON line.
//
// Usage: node server.mjs --db PATH
// Prints: "listening http://127.0.0.1:PORT", then {"port", "origin", "cookie", "organizationId",
// "role", "inviteeCookie", "invitationId"} on the next line. SIGTERM closes it (exit status 0).
//
// Every setting below is a documented better-auth option; bench/README.md says why each is set.
import http from "node:http";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { organization } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";

const INVITATION_LIMIT = 1_000_000; // the default is 100 pending per organization; we need 10^4+
const ROLE = "admin"; // closest to our Admin (Co-Owner) policy; the owner may invite it
const PASSWORD = "bench-password-0123456789";

function dbPathFromArgs(argv) {
  const i = argv.indexOf("--db");
  if (i < 0 || !argv[i + 1]) {
    console.error("usage: node server.mjs --db PATH");
    process.exit(2);
  }
  return argv[i + 1];
}

// The session cookie a sign-up set: "name=value" of every Set-Cookie header.
function cookieOf(headers) {
  const all = headers.getSetCookie ? headers.getSetCookie() : [headers.get("set-cookie")];
  return all
    .filter(Boolean)
    .map((c) => c.split(";")[0])
    .join("; ");
}

async function signUp(auth, email, name) {
  const { headers } = await auth.api.signUpEmail({
    body: { email, password: PASSWORD, name },
    returnHeaders: true,
  });
  const cookie = cookieOf(headers);
  if (!cookie) throw new Error(`no session cookie after signing up ${email}`);
  return cookie;
}

async function main() {
  const db = new Database(dbPathFromArgs(process.argv));
  // better-sqlite3's documented advice for servers: WAL. synchronous=NORMAL is what siteinvites
  // uses too, so both commit with the same durability (no fsync per commit, only at checkpoint).
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");

  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  const origin = `http://127.0.0.1:${port}`;

  const auth = betterAuth({
    baseURL: origin,
    secret: process.env.BETTER_AUTH_SECRET || randomBytes(32).toString("hex"),
    database: db,
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false }, // the load comes from one address; limits would cap it
    telemetry: { enabled: false }, // no network traffic from the peer
    plugins: [
      organization({
        invitationLimit: INVITATION_LIMIT,
        sendInvitationEmail: async () => {}, // no mail: the figure is the API's alone
      }),
    ],
  });
  const { runMigrations } = await getMigrations(auth.options); // what `better-auth migrate` does
  await runMigrations();

  const cookie = await signUp(auth, "owner@bench.example.com", "Owner");
  const org = await auth.api.createOrganization({
    body: { name: "Bench", slug: "bench" },
    headers: new Headers({ cookie, origin }),
  });
  const inviteeEmail = "invitee@bench.example.com";
  const inviteeCookie = await signUp(auth, inviteeEmail, "Invitee");
  const invitation = await auth.api.createInvitation({
    body: { email: inviteeEmail, role: ROLE, organizationId: org.id },
    headers: new Headers({ cookie, origin }),
  });

  server.on("request", toNodeHandler(auth));
  const stop = () => {
    server.close(() => (db.close(), process.exit(0)));
    server.closeAllConnections(); // idle keep-alive connections would hold close() open
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  console.log(`listening ${origin}`);
  console.log(
    JSON.stringify({
      port,
      origin,
      cookie,
      organizationId: org.id,
      role: ROLE,
      inviteeCookie,
      invitationId: invitation.id,
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
