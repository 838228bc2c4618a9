package flows

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// fakeStore is an in-memory Store for flow tests.
type fakeStore struct {
	mu         sync.Mutex
	members    map[int64]*Member
	records    []ServiceRecord
	activities []Activity
	reports    []Report
	reportSeq  int
	grids      map[int64][]Grid
	nextID     int64
	// photos are every photo staged or saved, by ID.
	photos map[int64]*fakePhoto
	// creates counts the calls of the Create methods, saved or refused;
	// dayReads those of ServiceRecordsOn and UnitActivitiesOn.
	creates  int
	dayReads map[string]int
	// failCreate, when set, is returned by CreateServiceRecord.
	failCreate error
	// pushes are the pushes the fake's changes made.
	pushes []Push
	// notices are the notices sent to each member, newest first.
	notices map[int64][]Notice
}

func newFakeStore() *fakeStore {
	return &fakeStore{members: map[int64]*Member{}, nextID: 100, photos: map[int64]*fakePhoto{}}
}

// fakePhoto is a photo of the fake with who sent it and whether a record
// took it.
type fakePhoto struct {
	Photo
	memberID int64
	attached bool
}

func (s *fakeStore) StagePhoto(_ context.Context, memberID int64, p Photo) (Photo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.members[memberID] == nil {
		return Photo{}, ErrNotFound
	}
	s.nextID++
	p = Photo{ID: s.nextID, MediaID: p.MediaID, PicURL: p.PicURL, Status: PhotoPending}
	s.photos[p.ID] = &fakePhoto{Photo: p, memberID: memberID}
	return p, nil
}

func (s *fakeStore) MemberPhotos(_ context.Context, memberID int64, ids []int64) ([]Photo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Photo
	for _, id := range ids {
		if p := s.photos[id]; p != nil && p.memberID == memberID {
			out = append(out, p.Photo)
		}
	}
	return out, nil
}

// fetched sets a photo as the fetch job would: stored with the SHA-256 of
// its bytes, or failed when sha is "".
func (s *fakeStore) fetched(id int64, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.photos[id]
	if sha == "" {
		p.Status = PhotoFailed
		return
	}
	p.Status, p.SHA256 = PhotoStored, sha
}

// attach takes a record's photos as the real store does: all or none,
// within rule, staged ones only when the member's and unattached, new ones
// (no ID) saved. It fills ps in place.
func (s *fakeStore) attach(memberID int64, ps []Photo, rule PhotoRule) error {
	if err := rule.Check(len(ps)); err != nil {
		return err
	}
	for _, p := range ps {
		if p.ID == 0 {
			continue
		}
		if fp := s.photos[p.ID]; fp == nil || fp.memberID != memberID || fp.attached {
			return ErrPhotoUnavailable
		}
	}
	for i, p := range ps {
		if p.ID == 0 {
			s.nextID++
			p = Photo{ID: s.nextID, MediaID: p.MediaID, PicURL: p.PicURL, Status: PhotoPending}
			s.photos[p.ID] = &fakePhoto{Photo: p, memberID: memberID}
		}
		s.photos[p.ID].attached = true
		ps[i] = s.photos[p.ID].Photo
	}
	return nil
}

func (s *fakeStore) addMember(m Member) Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	m.ID = s.nextID
	if m.Role == "" {
		m.Role = RoleVolunteer
	}
	m.Reminders = true
	s.members[m.ID] = &m
	return m
}

func (s *fakeStore) MemberByOpenID(_ context.Context, openID string) (Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		if m.OpenID == openID && openID != "" {
			return *m, nil
		}
	}
	return Member{}, ErrNotFound
}

func (s *fakeStore) FindRosterMember(_ context.Context, name, phone string) (Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		if m.Name == name && m.Phone == phone {
			return *m, nil
		}
	}
	return Member{}, ErrNotFound
}

func (s *fakeStore) BindMember(_ context.Context, id int64, openID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[id]
	if m == nil {
		return ErrNotFound
	}
	if m.OpenID != "" && m.OpenID != openID {
		return ErrConflict
	}
	for _, o := range s.members {
		if o.OpenID == openID {
			o.OpenID = ""
		}
	}
	m.OpenID = openID
	return nil
}

func (s *fakeStore) SetReminders(_ context.Context, id int64, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[id].Reminders = on
	return nil
}

func (s *fakeStore) ServiceRecordsOn(_ context.Context, id int64, day Date) ([]ServiceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countDayRead("records")
	var out []ServiceRecord
	for _, r := range s.records {
		if r.MemberID == id && r.Date == day && r.Counts() {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartMin < out[j].StartMin })
	return out, nil
}

func (s *fakeStore) CreateServiceRecord(_ context.Context, r *ServiceRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	if s.failCreate != nil {
		return s.failCreate
	}
	logged := 0
	for _, o := range s.records {
		if o.MemberID == r.MemberID && o.Date == r.Date && o.Counts() && r.HasRange() && o.Overlaps(r.StartMin, r.EndMin) {
			return &OverlapError{Existing: o}
		}
		if o.MemberID == r.MemberID && o.Date == r.Date && o.Counts() {
			logged += o.Minutes
		}
	}
	if r.ProjectCode == "" && logged+r.Minutes > r.DayCap() {
		return &DayFullError{Logged: logged}
	}
	if err := s.attach(r.MemberID, r.Photos, ServicePhotos); err != nil {
		return err
	}
	s.nextID++
	r.ID = s.nextID
	if r.Status == "" {
		r.Status = RecordPending
	}
	if m := s.members[r.MemberID]; m != nil && r.Member == "" {
		r.Member, r.UnitID = m.Name, m.UnitID
	}
	s.records = append(s.records, *r)
	return nil
}

// ReviewStore of the fake, with the real store's rules.

func (s *fakeStore) NextPendingRecord(_ context.Context, unitID, notMember int64, skip []int64) (ServiceRecord, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []ServiceRecord
	for _, r := range s.records {
		if r.UnitID == unitID && r.Status == RecordPending && r.MemberID != notMember && !slices.Contains(skip, r.ID) {
			found = append(found, r)
		}
	}
	if len(found) == 0 {
		return ServiceRecord{}, 0, ErrNotFound
	}
	return found[0], len(found), nil
}

func (s *fakeStore) ServiceRecord(_ context.Context, id int64) (ServiceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if r.ID == id {
			return r, nil
		}
	}
	return ServiceRecord{}, ErrNotFound
}

func (s *fakeStore) ReviewRecord(_ context.Context, rv Review) (ServiceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := CheckReview(rv); err != nil {
		return ServiceRecord{}, err
	}
	for i, r := range s.records {
		if r.ID != rv.RecordID {
			continue
		}
		switch {
		case rv.ReviewerID == r.MemberID:
			return ServiceRecord{}, &ReviewError{Msg: "不能审核自己的记录"}
		case r.Status != RecordPending:
			return ServiceRecord{}, &ReviewError{Msg: "该记录已" + r.Status.Label()}
		}
		r.Status, r.ReviewNote, r.ReviewedBy = rv.Status, rv.Note, rv.By
		s.records[i] = r
		if rv.Status == RecordRejected {
			s.pushes = append(s.pushes, RejectionPush(r, rv.Note))
		}
		return r, nil
	}
	return ServiceRecord{}, ErrNotFound
}

func (s *fakeStore) HoursSummary(ctx context.Context, id int64, day Date) (HoursSummary, error) {
	sum, err := s.HoursSummaryWith(ctx, id, day, MonthOf(day))
	sum.Then = MonthTotals{}
	return sum, err
}

func (s *fakeStore) HoursSummaryWith(_ context.Context, id int64, day Date, then Month) (HoursSummary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := HoursSummary{UnitActivityGoal: 2, Then: MonthTotals{Month: then}}
	m := s.members[id]
	for _, r := range s.records {
		if r.MemberID != id || !r.Counts() {
			continue
		}
		if MonthOf(r.Date) == then {
			sum.Then.Minutes += r.Minutes
			sum.Then.Sessions++
			if r.Qualified() {
				sum.Then.Qualified++
			}
		}
		if r.Status == RecordPending {
			sum.Pending++
		}
		sum.TotalMinutes += r.Minutes
		if r.Date.Year == day.Year {
			sum.YearMinutes += r.Minutes
			if r.Date.Month == day.Month {
				sum.MonthMinutes += r.Minutes
				sum.MonthSessions++
				if r.Qualified() {
					sum.MonthQualified++
				}
			}
		}
	}
	for _, a := range s.activities {
		if a.UnitID == m.UnitID && a.Date.Year == day.Year && a.Date.Month == day.Month {
			sum.UnitActivities++
			if CountPhotos(a.Photos) >= MinActivityPhotos {
				sum.UnitGood++
			}
		}
	}
	return sum, nil
}

func (s *fakeStore) UnitActivitiesOn(_ context.Context, unitID int64, day Date) ([]Activity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countDayRead("activities")
	var out []Activity
	for _, a := range s.activities {
		if a.UnitID == unitID && a.Date == day {
			out = append(out, a)
		}
	}
	return out, nil
}

// fakeSessions is an in-memory SessionStore.
type fakeSessions struct {
	mu sync.Mutex
	m  map[string]Session
	// failDelete, when set, is returned once by Delete, which then keeps
	// the session (a session store down at that moment).
	failDelete error
	// loads, saves and deletes count the calls.
	loads, saves, deletes int
}

func (f *fakeSessions) Load(_ context.Context, id string) (Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	s := f.m[id]
	// Copy the draft, as a real store's serialization would.
	if s.Draft != nil {
		d := make(map[string]string, len(s.Draft))
		for k, v := range s.Draft {
			d[k] = v
		}
		s.Draft = d
	}
	s.Back = append([]string(nil), s.Back...)
	s.Photos = append([]int64(nil), s.Photos...)
	return s, nil
}

func (f *fakeSessions) Save(_ context.Context, id string, s Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.saves++
	if f.m == nil {
		f.m = map[string]Session{}
	}
	f.m[id] = s
	return nil
}

func (f *fakeSessions) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes++
	if err := f.failDelete; err != nil {
		f.failDelete = nil
		return err
	}
	delete(f.m, id)
	return nil
}

// RecordStore of the fake.

func (s *fakeStore) CreateReport(_ context.Context, r *Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	if err := s.attach(r.MemberID, r.Photos, ReportPhotos); err != nil {
		return err
	}
	s.nextID++
	r.ID = s.nextID
	s.reportSeq++
	r.Code = fmt.Sprintf("XC-%04d%02d%02d-%04d", r.Date.Year, r.Date.Month, r.Date.Day, s.reportSeq)
	r.Status = StatusPending
	r.CreatedAt = time.Date(r.Date.Year, r.Date.Month, r.Date.Day, 2, 0, 0, 0, time.UTC)
	// The fake assigns a report to its reporter's unit.
	r.HandlerUnitID, r.HandlerUnit = r.UnitID, s.members[r.MemberID].Unit
	r.Deadline = r.CreatedAt.AddDate(0, 0, DefaultDeadlineDays[r.Category])
	s.reports = append(s.reports, *r)
	return nil
}

func (s *fakeStore) CreateActivity(_ context.Context, a *Activity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	if err := s.attach(a.MemberID, a.Photos, ActivityPhotos); err != nil {
		return err
	}
	s.nextID++
	a.ID = s.nextID
	if a.Code == "" {
		a.Code = fmt.Sprintf("HD-%04d%02d%02d-%03d", a.Date.Year, a.Date.Month, a.Date.Day, len(s.activities)+1)
	}
	s.activities = append(s.activities, *a)
	return nil
}

func (s *fakeStore) RecentReports(_ context.Context, memberID int64, n int) ([]Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Report
	for i := len(s.reports) - 1; i >= 0 && len(out) < n; i-- {
		if s.reports[i].MemberID == memberID {
			out = append(out, s.reports[i])
		}
	}
	return out, nil
}

func (s *fakeStore) ReportCount(_ context.Context, memberID int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reports {
		if r.MemberID == memberID {
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) MemberNotices(_ context.Context, memberID int64, n int) ([]Notice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.notices[memberID]
	return ns[:min(n, len(ns))], nil
}

func (s *fakeStore) UnitGrids(_ context.Context, unitID int64) ([]Grid, error) {
	return s.grids[unitID], nil
}

// countDayRead counts a read of a day's records or activities (under mu).
func (s *fakeStore) countDayRead(what string) {
	if s.dayReads == nil {
		s.dayReads = map[string]int{}
	}
	s.dayReads[what]++
}

// takeDayReads returns the reads of the day's records and activities
// since the last call.
func (s *fakeStore) takeDayReads() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.dayReads
	s.dayReads = nil
	return r
}
