// Package sqlite is the terminal's local store in one SQLite file (WAL,
// synchronous=FULL, embedded ordered migrations): the cache of stores,
// campaigns, issuing keys, codes and settlement locks; the journal,
// append-only, hash-chained and signed with the terminal's key; the outbox
// of events the hub has not acknowledged; pending decisions; the feed
// cursor and Z-report numbering; the store's other terminals' redemptions
// and voids as the feed names them (Neighbours, kept a week). Beside the file, in 0600 files, are the
// terminal's signing key, the key sealing dynamic-code seeds and the hub's
// card-secret pepper.
//
// Append is durable when it returns: the event, its outbox entry, the new
// head and the code's new state commit in one transaction, or nothing does.
// Open verifies the whole journal and refuses a damaged or truncated one
// with a *CorruptError; it never repairs. Card secrets are never stored,
// only their keyed hashes; so are staff PINs (argon2id) and badges (HMAC).
// It also keeps the slips printed, the staff and their sign-in lockouts,
// and the store's other terminals' redemptions the feed delivered. This package implements terminal.Store and must
// not hold redemption rules, which belong to package terminal.
package sqlite
