package sqlite

import (
	"encoding/json"
	"fmt"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

var (
	qMeta    = rq(`SELECT v FROM meta WHERE k = ?`)
	qSetMeta = wq(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`)

	qStore     = rq(`SELECT body FROM stores WHERE id = ?`)
	qStores    = rq(`SELECT body FROM stores ORDER BY id`)
	qPutStore  = wq(`INSERT INTO stores (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body`)
	qCampaign  = rq(`SELECT body FROM campaigns WHERE id = ?`)
	qCampaigns = rq(`SELECT body FROM campaigns ORDER BY id`)
	qPutCamp   = wq(`INSERT INTO campaigns (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body`)

	qKeys   = rq(`SELECT id, public, not_before, not_after, sealed, created FROM issuing_keys ORDER BY created, id`)
	qPutKey = wq(`INSERT INTO issuing_keys (id, public, not_before, not_after, sealed, created) VALUES (?,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET public = excluded.public, not_before = excluded.not_before,
		not_after = excluded.not_after, sealed = excluded.sealed, created = excluded.created`)
)

func (t *txn) Meta(key string) ([]byte, error) {
	var v []byte
	if err := t.row(qMeta, key).Scan(&v); err != nil {
		return nil, fmt.Errorf("meta %q: %w", key, notFound(err))
	}
	return v, nil
}

func (t *txn) SetMeta(key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	if _, err := t.exec(qSetMeta, key, value); err != nil {
		return fmt.Errorf("set meta %q: %w", key, err)
	}
	return nil
}

// getJSON reads the one body column of q into v.
func (t *txn) getJSON(what, q string, arg any, v any) error {
	var body []byte
	if err := t.row(q, arg).Scan(&body); err != nil {
		return fmt.Errorf("%s: %w", what, notFound(err))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// listJSON reads every body column of q, each into a new element.
func listJSON[T any](t *txn, what, q string) ([]T, error) {
	var out []T
	err := t.rows(q, nil, func(r scanner) error {
		var body []byte
		if err := r.Scan(&body); err != nil {
			return err
		}
		var v T
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func (t *txn) putJSON(what, q, id string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	if _, err := t.exec(q, id, body); err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	return nil
}

func (t *txn) StoreByID(id string) (protocol.Store, error) {
	var s protocol.Store
	return s, t.getJSON("store "+id, qStore, id, &s)
}

func (t *txn) Stores() ([]protocol.Store, error) {
	return listJSON[protocol.Store](t, "stores", qStores)
}

func (t *txn) PutStore(s protocol.Store) error {
	return t.putJSON("store "+s.ID, qPutStore, s.ID, s)
}

func (t *txn) Campaign(id string) (protocol.Campaign, error) {
	var c protocol.Campaign
	return c, t.getJSON("campaign "+id, qCampaign, id, &c)
}

func (t *txn) Campaigns() ([]protocol.Campaign, error) {
	return listJSON[protocol.Campaign](t, "campaigns", qCampaigns)
}

func (t *txn) PutCampaign(c protocol.Campaign) error {
	return t.putJSON("campaign "+c.ID, qPutCamp, c.ID, c)
}

func (t *txn) Keys() ([]hub.Key, error) {
	var out []hub.Key
	err := t.rows(qKeys, nil, func(r scanner) error {
		var k hub.Key
		var public []byte
		var notBefore, notAfter, created int64
		if err := r.Scan(&k.ID, &public, &notBefore, &notAfter, &k.SealedPrivate, &created); err != nil {
			return err
		}
		k.Public = public
		k.NotBefore, k.NotAfter, k.Created = fromMicros(notBefore), fromMicros(notAfter), fromMicros(created)
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return out, nil
}

func (t *txn) PutKey(k hub.Key) error {
	_, err := t.exec(qPutKey, k.ID, []byte(k.Public), micros(k.NotBefore), micros(k.NotAfter), k.SealedPrivate, micros(k.Created))
	if err != nil {
		return fmt.Errorf("put key %s: %w", k.ID, err)
	}
	return nil
}
