package web

import (
	"net/http"

	"github.com/hexiao/hexiao/protocol"
)

// Stores, campaigns and issuing keys: what codes are redeemed against.

// listStores lists every store; a store manager's list holds theirs.
func (s *Server) listStores(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	out := []protocol.Store{}
	for _, st := range s.hub.Stores() {
		if p.Sees(st.ID) {
			out = append(out, st)
		}
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) getStore(w http.ResponseWriter, r *http.Request) {
	if !principal(r).Sees(r.PathValue("id")) {
		s.forbidStore(w, r, "store "+r.PathValue("id"))
		return
	}
	st, err := s.hub.StoreByID(r.PathValue("id"))
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

// putStore creates a store (201) or updates it (200).
func (s *Server) putStore(w http.ResponseWriter, r *http.Request) {
	var st protocol.Store
	if !s.readJSON(w, r, &st, maxBody, false) {
		return
	}
	_, err := s.hub.StoreByID(st.ID)
	status := http.StatusOK
	if err != nil {
		status = http.StatusCreated
	}
	st, err = s.hub.PutStore(r.Context(), st)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, status, st)
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.hub.Campaigns())
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) {
	c, err := s.hub.CampaignByID(r.PathValue("id"))
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, c)
}

// putCampaign creates a campaign (201) or replaces its rules (200).
func (s *Server) putCampaign(w http.ResponseWriter, r *http.Request) {
	var c protocol.Campaign
	if !s.readJSON(w, r, &c, maxBody, false) {
		return
	}
	_, err := s.hub.CampaignByID(c.ID)
	status := http.StatusOK
	if err != nil {
		status = http.StatusCreated
	}
	c, err = s.hub.PutCampaign(r.Context(), c)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, status, c)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.hub.Keys())
}

// rotateKey makes a new issuing key (201).
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request) {
	if !s.readJSON(w, r, &struct{}{}, maxBody, true) {
		return
	}
	k, err := s.hub.RotateKey(r.Context())
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, k)
}

func (s *Server) retireKey(w http.ResponseWriter, r *http.Request) {
	if !s.readJSON(w, r, &struct{}{}, maxBody, true) {
		return
	}
	k, err := s.hub.RetireKey(r.Context(), r.PathValue("id"))
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, k)
}
