// Package web is the hub's HTTP API: the REST routes headquarters and
// upstream platforms use to manage stores, campaigns and codes and to read
// the ledger back, a server-sent event stream, /healthz and Prometheus
// /metrics, sign-in with sessions, and the HQ dashboard: a single-page app
// whose files (ui/) are embedded in the binary and which uses the same
// routes as any integrator. It turns HTTP into calls of package hub's
// public methods and their answers into JSON, and nothing more.
//
// It must never hold ledger rules (what may be redeemed, issued, voided or
// locked is hub's to decide), and never log or echo a bearer token or a
// card secret: requests are logged by route pattern, never by URL, and
// error messages name card secrets by position only.
//
// # Serving
//
// New makes a Server; serve its Handler in an http.Server and call Close
// before Shutdown (or register it with RegisterOnShutdown), so event
// streams end. AdminToken reads DATA/admin.token or creates it (0600) on
// first start.
//
// # Authentication
//
// Public, with no credentials: GET /healthz, GET /metrics, POST
// /api/v1/enroll, POST /api/v1/terminal/status, GET and POST /login, GET
// /assets/*. Everything else needs one of
//
//	Authorization: Bearer TOKEN     DATA/admin.token (the built-in HQ admin, compared in
//	                                constant time) or a managed API token hxt_… (POST /api/v1/tokens)
//	Cookie: hexiao_session=…        a dashboard session (__Host-hexiao over TLS)
//
// Missing or wrong on an /api/ path: 401 with WWW-Authenticate: Bearer.
// Missing on a dashboard page (GET /, /overview, …): 303 to
// /login?next=PATH. The check comes before routing, so an unknown path
// answers 401 to a caller without credentials.
//
// Sessions: POST /login (a url-encoded form: name, password, csrf, next)
// checks the password (argon2id; five wrong ones in a row lock the name
// for five minutes; an unknown name costs and answers the same as a wrong
// password) and sets the cookie: 32 random bytes, HttpOnly, Secure,
// SameSite=Lax, Path=/; the ledger keeps only its SHA-256. A session ends
// after 12 h unused, 7 days after sign-in, on POST /logout, and when an
// admin disables the user, changes their role or store, or resets their
// password. Plain HTTP is served on loopback only, where browsers keep
// Secure cookies (http://127.0.0.1 and localhost are secure contexts).
//
// CSRF: a request with a session cookie and an unsafe method must carry
// X-CSRF-Token equal to the session's token (csrf_token of GET
// /api/v1/me; the sign-out form sends it as the csrf field), compared in
// constant time, or it is 403 csrf. The sign-in form, before a session
// exists, uses a double-submit cookie (hexiao_csrf). Every request also
// passes http.CrossOriginProtection: a browser's cross-origin unsafe
// request is 403 cross_origin. Bearer requests need no CSRF token.
//
// Roles (hub.Role): admin may do everything; viewer every GET; a
// store_manager every GET limited to their store. Any other method by a
// non-admin is 403 forbidden, but for POST /logout and POST
// /api/v1/me/password; so are GET /api/v1/users, /api/v1/tokens and
// /api/v1/enrollments/qr.png. A store manager is refused another store's
// data with 403 forbidden naming theirs (GET /api/v1/stores/{id},
// redemptions?store=, alerts?store=), and gets lists filtered to their
// store: stores, redemptions (JSON and CSV), alerts naming their store,
// terminals, the stream's events, and a code look-up's redemptions and
// voids (with redemptions_elsewhere, a count that names no store).
//
// # Dashboard
//
// GET /, /overview, /feed, /alerts, /codes[/ID], /campaigns[/ID],
// /stores[/ID], /reports and /admin answer ui/index.html to a signed-in
// person (the app draws the page the path names) with a strict
// Content-Security-Policy (no inline script or style, no other origin, no
// framing); GET /assets/FILE serves ui/FILE to anyone, typed, with an ETag
// (Cache-Control: no-cache) and gzipped when asked. An unknown file is 404.
// docs/dashboard.md describes the pages; scripts/vendor-ui.sh rebuilds
// ui/vendor.
//
// # Accounts
//
//	GET  /api/v1/me                 {"name","display_name","role","store","csrf_token","via":"session"|"token"}
//	POST /api/v1/me/password        {"old","new"} → 204; the user's other sessions end (sessions only)
//	GET  /api/v1/users              [{"name","display_name","role","store","disabled","created","last_sign_in"}]
//	POST /api/v1/users              {"name","display_name","role","store","password"} → 201
//	POST /api/v1/users/{name}       any of {"display_name","role","store","disabled","password"} → 200,
//	                                with "sessions_ended"
//	GET  /api/v1/tokens             [{"id","name","role","store","created","created_by","last_used","revoked"}]
//	POST /api/v1/tokens             {"name","role","store"} → 201 {"token":{…},"secret":"hxt_…"} (shown once)
//	POST /api/v1/tokens/{id}/revoke → 200; the token stops working at once
//
// Passwords are 10 characters to 256 bytes. A wrong old password is 403
// wrong_password; a locked name 429 locked.
//
// # Errors
//
// Every error is a JSON body {"error":{"code":"...","message":"..."}} whose
// message says what to fix:
//
//	400 malformed_json          body is not JSON, is empty, or has data after the object
//	400 unknown_field           a field the route does not take (the message lists those it does)
//	400 wrong_type              a field of the wrong JSON type, or a time or duration that does not parse
//	400 invalid                 a rule the hub refuses (hub.Invalid), a bad query parameter;
//	                            on every route an unknown or repeated query parameter and a
//	                            query string that does not parse are refused too (422 is not used)
//	401 unauthorized            missing or wrong bearer token, no session
//	403 forbidden               the principal's role may not (see Authentication)
//	403 csrf                    a session's unsafe request without its X-CSRF-Token
//	403 cross_origin            a browser's cross-origin unsafe request
//	404 not_found               an unknown id (hub.NotFound) or route
//	405 method_not_allowed      with an Allow header
//	409 conflict                hub.Conflict: already imported, revoked for good, ...
//	413 too_large               body over 1 MiB (16 MiB for imports)
//	415 unsupported_media_type  a POST body without Content-Type: application/json
//	500 internal                anything else; the detail is in the hub's log only
//	503 unavailable             GET /api/v1/stream while the server shuts down
//
// POST bodies are decoded strictly: unknown fields and trailing data are
// errors. Routes whose body is optional (revoke, block, unblock, ack,
// key rotation and retirement, terminal revocation) accept an empty body
// with or without a Content-Type.
//
// # Routes
//
// Creating answers 201, updating and actions 200. In the examples
// H='Authorization: Bearer TOKEN', J='Content-Type: application/json'
// and the hub listens on 127.0.0.1:8480.
//
//	GET  /healthz                        200 {"status":"ok","checks":{"ledger":"ok","ready":"ok"}}
//	                                     503 {"status":"unavailable","checks":{"ledger":"the ledger database does not answer",...}}
//	GET  /metrics                        Prometheus text 0.0.4: hexiao_hub_*_total, hexiao_web_requests_total{route,code},
//	                                     hexiao_web_streams, go_goroutines, go_memstats_*, then Config.Metrics's lines
//	POST /api/v1/stores                  {"id","name","region","timezone"} → 201 new, 200 updated: the store
//	GET  /api/v1/stores                  every store, by id
//	GET  /api/v1/stores/{id}             one store
//	POST /api/v1/campaigns               a protocol.Campaign → 201 new, 200 replaced
//	GET  /api/v1/campaigns               every campaign
//	GET  /api/v1/campaigns/{id}          one campaign
//	POST /api/v1/campaigns/{id}/codes    {"count","format":"signed"|"dynamic","order_ref","valid_from","valid_until","stores","regions"}
//	                                     → 201 {"codes":[{"id","code"}|{"id","seed"}]}; NDJSON when count > 1000 or
//	                                     Accept: application/x-ndjson (see Issuance)
//	POST /api/v1/campaigns/{id}/codes/import
//	                                     {"codes":["<card secret>",...],"order_ref"} → 201 {"imported":N,"ids":[...]}
//	GET  /api/v1/codes/{code}            a code id, HX1:/HXD: text (URL-escaped) or a card secret → hub.CodeInfo
//	POST /api/v1/codes/{id}/revoke       {"reason"} (optional) → the code (hub.CodeInfo)
//	POST /api/v1/codes/{id}/block        {"reason"} (optional) → the code
//	POST /api/v1/codes/{id}/unblock      {"reason"} (optional) → the code
//	GET  /api/v1/redemptions             ?store=&terminal=&code=&from=&to=&kind=&format=json|csv&after=&order=&limit=
//	                                     → [hub.Redemption,...] in ingest order, or CSV (see Redemptions)
//	GET  /api/v1/alerts                  ?kind=&since=&store=&open=true&limit= → [hub.Alert,...], newest first
//	POST /api/v1/alerts/{id}/ack         {"note"} (optional) → the alert; 409 when acknowledged before
//	POST /api/v1/locks                   {"store","day":"YYYY-MM-DD"} → 201 the settlement lock; 200 with the lock
//	                                     as first made (its at unchanged) when the day was locked before
//	GET  /api/v1/locks                   ?store=&from=&to= (days, inclusive, either open) → [{"store","day","at"},...]
//	                                     by store and day (see Reports)
//	GET  /api/v1/overview                ?day=YYYY-MM-DD&store= → hub.Overview (see Reports)
//	GET  /api/v1/reports                 ?from=&to=&store=&campaign=&format=json|csv → [hub.ReportRow,...] or CSV
//	                                     (see Reports)
//	POST /api/v1/enrollments             {"store","terminal"} → 201 {"token","store","terminal","expires_at","link","qr_png_url"}:
//	                                     link is the protocol.EnrollLink a terminal enrolls with (see Enrollment)
//	POST /api/v1/terminal/status         {"terminal","password"} → {"terminal","status":"active"|"revoked"}; no token:
//	                                     the MQTT password is the credential; a wrong one and an unknown terminal both 404
//	GET  /api/v1/enrollments/qr.png      ?token=TOKEN&size=PX (64–2048, default 320) → image/png of a QR code
//	                                     holding the token's enrollment link, built from this request as above;
//	                                     the token is not looked up (the hub keeps only hashes)
//	GET  /api/v1/terminals               [hub.TerminalInfo,...]
//	POST /api/v1/terminals/{id}/revoke   → the terminal
//	GET  /api/v1/keys                    [protocol.IssuingKey,...] the issuing public keys, oldest first
//	POST /api/v1/keys/rotate             → 201 the new key
//	POST /api/v1/keys/{id}/retire        → the key, valid no more
//	GET  /api/v1/stream                  text/event-stream (see Stream)
//
// For example:
//
//	curl -H "$H" -H "$J" -d '{"id":"s1","name":"Xuhui","region":"sh","timezone":"Asia/Shanghai"}' http://127.0.0.1:8480/api/v1/stores
//	curl -H "$H" -H "$J" -d '{"id":"coffee","name":"Coffee","face_value":2500,"uses":1,"offline":{"allow":true,"max_count":20}}' \
//	     http://127.0.0.1:8480/api/v1/campaigns
//	curl -H "$H" -H "$J" -d '{"count":3,"format":"signed","order_ref":"PO-1"}' http://127.0.0.1:8480/api/v1/campaigns/coffee/codes
//	curl -H "$H" -H "$J" -d '{"codes":["1234-5678-9012"],"order_ref":"supplier-7"}' http://127.0.0.1:8480/api/v1/campaigns/coffee/codes/import
//	curl -H "$H" http://127.0.0.1:8480/api/v1/codes/HX1%3AAEB...
//	curl -H "$H" -H "$J" -d '{"reason":"refunded"}' http://127.0.0.1:8480/api/v1/codes/7QK2M4XW3PZA/revoke
//	curl -H "$H" 'http://127.0.0.1:8480/api/v1/redemptions?store=s1&from=2025-01-01&to=2025-01-31&format=csv' -o jan.csv
//	curl -H "$H" 'http://127.0.0.1:8480/api/v1/alerts?kind=over_redemption&open=true'
//	curl -H "$H" -H "$J" -d '{"store":"s1","terminal":"t9"}' http://127.0.0.1:8480/api/v1/enrollments
//	curl -H "$H" -N http://127.0.0.1:8480/api/v1/stream
//
// # Enrollment
//
// The link of POST /api/v1/enrollments, and what its QR code holds, is
//
//	hexiao://enroll?ca=SHA256%3A...&hub=https%3A%2F%2Fhq.example%3A8480&token=TOKEN
//
// (protocol.EnrollLink): hub is the hub's address as the caller reached it,
// https:// when the request came over TLS (the hub serves TLS off
// loopback) and http:// otherwise, with the request's Host; ca is the
// fingerprint of Config.Enroll's CA, given only over TLS (a plain-HTTP hub
// is on loopback). Without Config.Enroll the link has no ca, and a
// terminal refuses an https link without one. A Host that cannot name the
// hub (empty, over 255 bytes, not HOST[:PORT]) is a 400 and spends no
// token. The QR code is gozxing's, error correction level M with a quiet
// zone of four modules, a whole number of pixels per module, centred in a
// size×size PNG (larger when size cannot hold one pixel per module).
//
// # Issuance
//
// Up to 1000 codes come back as one JSON object. Above that, or when the
// request says Accept: application/x-ndjson, the answer is 201 with
// Content-Type: application/x-ndjson: one {"id","code"} (signed) or
// {"id","seed"} (dynamic) object a line, sent as the hub commits them, so a
// million codes stream in constant memory. A refusal before the first code
// is an ordinary error answer. If the issuance fails after codes were sent,
// the status is already out: the stream ends with one line
// {"error":{"code","message"}} and every code sent before it stays issued.
// A client that reads to the end without meeting an error line has them
// all.
//
// # Redemptions
//
// from and to take RFC 3339 times or dates YYYY-MM-DD; they select by the
// terminal's time of the event, from inclusive, to exclusive. A date is
// midnight at the start of that day in the store's time zone when store=
// is given, in UTC otherwise; as to= a date includes the whole day, so
// from=2025-01-31&to=2025-01-31 is that one day. code= takes the same forms
// as GET /api/v1/codes/{code}. kind= is a comma-separated list of
// redemption, void and attempt (default redemption,void). after= is the
// hub's ingest-order cursor and limit= caps the rows. order=newest sends
// the newest rows first (the dashboard's feed reads the latest 200 so);
// order=oldest, the default, is ingest order. format=csv answers
// text/csv with the header row
//
//	terminal,seq,kind,at,received,store,cashier,mode,entry,code,campaign,uses,amount,order_ref,voids,flags
//
// times in RFC 3339 UTC, amounts in fen, voids as terminal:seq and flags
// separated by ';'. Cells are written as the terminals sent them: a
// spreadsheet may read a cashier or order_ref starting with '=' as a
// formula. Rows are streamed; if reading the ledger fails after the first
// row was sent the connection is cut, so a truncated export never ends
// like a complete one. The hub reads the ledger 1000 rows at a time, each
// page in a short read transaction of its own, and the rows are written
// to the client between them: a slow client never holds the ledger open.
// So an export is not one snapshot: rows the filter selects that are
// ingested while it runs come at its end.
//
// # Reports
//
// The overview and the reports read the roll-up the hub keeps as it
// ingests (hub.Totals): every redemption and void counted in its store's
// business day and local hour, on the hub's clock when the terminal's was
// flagged. A store manager gets their own store only: without store= the
// answer is theirs, store=another is 403 forbidden; HQ roles see every
// store. GET /api/v1/overview answers
//
//	{"day":"2026-11-22"|omitted,"store":"s1"|omitted,"at":RFC3339,
//	 "totals":COUNTS,"terminals":N,"terminals_offline":N,
//	 "hours":[COUNTS × 24],                     by each store's local hour
//	 "stores":[{"id","name","region","timezone","day",COUNTS...,"terminals","terminals_offline"},...],
//	 "campaigns":[{"id","name",COUNTS...},...], the top 10 by value
//	 "offline":[{"id","name","terminals":[{"id","last_seen","offline_for":"1h2m3s"},...]},...]}
//
// where COUNTS is {"redemptions","voids","uses","value","online","offline"}:
// redemption and void events, net uses and net value in fen (voids
// subtract), and the redemptions decided online and offline. Without day=
// each store shows its own today in its time zone (its "day"); with it,
// every store that day. offline lists the active terminals not online, by
// store: last_seen is omitted for a terminal never seen, and offline_for
// then counts from its enrollment. A report (from= and to= required, at
// most 366 days) is [{"day","store","campaign",COUNTS...,"locked"},...]
// by day, store and campaign, for the rows with events; locked says the
// store settled that day. format=csv answers text/csv, UTF-8 with a BOM,
// with the header row
//
//	day,store,store_name,campaign,campaign_name,redemptions,voids,uses,value,online,offline,locked
//
// value in fen; a name starting with = + - @, a tab or a carriage return
// gets a leading ' so a spreadsheet never reads it as a formula.
//
// # Stream
//
// GET /api/v1/stream sends one event per ledger event, alert and terminal
// change as the hub commits them:
//
//	event: redemption    data: a hub.Redemption
//	event: alert         data: a hub.Alert
//	event: presence      data: a hub.TerminalInfo
//	event: reset         data: {"missed":N}
//
// each with an id: line counting from 1 per connection (there is no replay;
// a client that reconnects reads the lists again), and a comment line
// every 15 s. A client that falls 256 commits behind loses the newer ones
// rather than slowing the hub (hub.Watch), and is told: as soon as the
// stream gets going again it sends event: reset, N being how many commits
// it lost (each may have held several events, or none the stream shows).
// The client then reads the lists again (GET /api/v1/alerts, /terminals,
// /redemptions) and goes on reading the stream, which continues after the
// reset; events queued before the loss may still follow and repeat what
// the lists show, so a client keys what it shows by id (alert id,
// terminal:seq, terminal id). A client that stops reading for 30 s is
// disconnected. Every 5 s the stream checks that its credential still
// stands: a revoked token, a session signed out or expired, a user
// disabled or given another role or store ends it.
package web
