package hublink

import (
	"context"
	"errors"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

func (l *Link) askFeed(ctx context.Context, s *syncState) {
	cursor, err := l.store.FeedCursor(ctx)
	if err != nil {
		l.log.Error("read the feed cursor", "err", err)
		return
	}
	if err := l.publish(protocol.TopicFeedRequest, &protocol.FeedRequest{Terminal: l.id.Terminal, After: cursor}, false); err != nil {
		l.log.Warn("ask for the feed", "err", err)
		return
	}
	s.feedAsked = l.opt.Now()
}

func (l *Link) askSnapshot(ctx context.Context, s *syncState) {
	pr, err := l.store.SnapshotProgress(ctx)
	if err != nil {
		l.log.Error("read snapshot progress", "err", err)
		return
	}
	l.setStatus(func(st *Status) { st.Snapshot, st.SnapshotAt = true, pr.Pages })
	if err := l.publish(protocol.TopicSnapRequest, &protocol.SnapshotRequest{Terminal: l.id.Terminal, Resume: pr.Resume}, false); err != nil {
		l.log.Warn("ask for the snapshot", "err", err)
		return
	}
	s.snapAsked = l.opt.Now()
}

func (l *Link) onFeedPage(ctx context.Context, s *syncState, p *protocol.FeedPage) error {
	l.contact(ctx, s)
	if p.Problem != nil {
		s.feedAsked = time.Time{}
		return l.onProblem(ctx, s, p.Problem)
	}
	n, err := l.store.ApplyFeed(ctx, p.After, p.Next, p.Changes)
	if errors.Is(err, sqlite.ErrFeedGap) {
		return nil // an answer to an old request; the current one is out
	}
	if err != nil {
		l.log.Error("feed page not applied", "after", p.After, "err", err)
		s.feedAsked = time.Time{}
		return nil
	}
	if n > 0 {
		l.log.Debug("feed applied", "changes", n, "cursor", p.Next)
	}
	s.feedAsked = time.Time{}
	l.setProblem("hub", "") // the hub serves this terminal again
	if p.More {
		l.askFeed(ctx, s)
	}
	return nil
}

func (l *Link) onPush(ctx context.Context, s *syncState, p *protocol.FeedPush) {
	if s.snapshot {
		return // the feed is read from the snapshot's as_of once it is in
	}
	_, err := l.store.ApplyFeed(ctx, p.After, 0, p.Changes)
	if errors.Is(err, sqlite.ErrFeedGap) {
		if s.feedAsked.IsZero() {
			l.askFeed(ctx, s)
		}
		return
	}
	if err != nil {
		l.log.Error("feed push not applied", "err", err)
	}
}

func (l *Link) onSnapshotPage(ctx context.Context, s *syncState, p *protocol.SnapshotPage) error {
	l.contact(ctx, s)
	if !s.snapshot {
		return nil // a late answer to a finished pull
	}
	if p.Problem != nil {
		s.snapAsked = time.Time{}
		return l.onProblem(ctx, s, p.Problem)
	}
	if err := l.store.StageSnapshot(ctx, p); err != nil {
		l.log.Warn("snapshot page not staged", "page", p.Page, "err", err)
		return nil
	}
	l.setStatus(func(st *Status) { st.SnapshotAt = p.Page + 1 })
	if !p.Last {
		if err := l.publish(protocol.TopicSnapRequest, &protocol.SnapshotRequest{Terminal: l.id.Terminal, Resume: p.Resume}, false); err != nil {
			l.log.Warn("ask for the snapshot", "err", err)
		}
		s.snapAsked = l.opt.Now()
		return nil
	}
	st, err := l.store.FinishSnapshot(ctx)
	if err != nil {
		l.log.Error("snapshot not imported: starting again", "err", err)
		l.store.DropSnapshot(ctx)
		s.snapAsked = time.Time{}
		return nil
	}
	l.log.Info("snapshot imported", "codes", st.Codes, "pages", st.Pages, "as_of", st.AsOf)
	s.snapshot, s.snapAsked = false, time.Time{}
	l.setStatus(func(st *Status) { st.Snapshot = false })
	l.askFeed(ctx, s)
	return nil
}

func (l *Link) onProblem(ctx context.Context, s *syncState, p *protocol.Problem) error {
	switch p.Code {
	case protocol.ProblemRevoked:
		return l.revoke(ctx, p.Message)
	case protocol.ProblemCursorExpired:
		l.log.Warn("the feed no longer reaches the cursor: pulling a snapshot", "msg", p.Message)
		s.snapshot = true
		l.askSnapshot(ctx, s)
	case protocol.ProblemResumeExpired:
		l.log.Warn("snapshot resume expired: starting again", "msg", p.Message)
		l.store.DropSnapshot(ctx)
		l.askSnapshot(ctx, s)
	default:
		l.log.Error("the hub cannot serve this terminal", "code", p.Code, "msg", p.Message)
		l.setProblem("hub", string(p.Code)+": "+p.Message)
	}
	return nil
}

// revoke wipes the cache and stops the link for good.
func (l *Link) revoke(ctx context.Context, why string) error {
	if l.revoked.Swap(true) {
		return ErrRevoked
	}
	l.setReachable(false)
	if err := l.store.Wipe(ctx, why); err != nil {
		l.log.Error("wipe the cache", "err", err)
	}
	l.setProblem("revoked", "revoked: "+why)
	l.log.Error("this terminal was revoked by HQ: cache wiped, redeeming stopped", "why", why)
	if l.opt.OnRevoked != nil {
		l.opt.OnRevoked(why)
	}
	return ErrRevoked
}
