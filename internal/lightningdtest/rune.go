package lightningdtest

// Runes as lightningd makes and checks them (ccan/ccan/rune/rune.c and
// coding.c in Core Lightning): a rune is the 32-byte SHA-256 chaining state
// after hashing the master secret and then each restriction, every one
// followed by SHA-256-style padding, and the text of the restrictions
// after it, the whole thing base64url-encoded with '=' padding.

import (
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// runeConditions lists every condition character ccan/rune accepts
// (rune_condition_is_valid in coding.c).
const runeConditions = "!=/^$~<>{}#"

// Alternative is one test inside a restriction: Field, a condition
// character from "!=/^$~<>{}#", and Value.
type Alternative struct {
	Field string
	Cond  byte
	Value string
}

// Restriction is a list of alternatives of which at least one must pass.
type Restriction []Alternative

// Rune is a parsed rune: its authcode and its restrictions. The first
// restriction may be the unique id (`=<id>` or `=<id>-<version>`).
type Rune struct {
	state        shaState
	restrictions []Restriction
	uniqueID     *string
	version      *string
}

// RuneMaster derives and verifies runes from one secret, as lightningd's
// master rune does (runes_early_init in lightningd/runes.c).
type RuneMaster struct {
	state shaState
}

// NewRuneMaster returns the master for secret, which must fit in one
// SHA-256 block with its padding (at most 55 bytes; lightningd uses 32).
func NewRuneMaster(secret []byte) (*RuneMaster, error) {
	if len(secret) > 55 {
		return nil, fmt.Errorf("creating rune master: secret is %d bytes, at most 55 allowed", len(secret))
	}
	st, err := newShaState()
	if err != nil {
		return nil, fmt.Errorf("creating rune master: %w", err)
	}
	st, err = st.addPadded(secret)
	if err != nil {
		return nil, fmt.Errorf("creating rune master: %w", err)
	}
	return &RuneMaster{state: st}, nil
}

// Derive makes a rune whose first restriction is the unique id (written
// `=<uniqueID>`, so "5-2" means id 5 version 2), then restrictions.
func (m *RuneMaster) Derive(uniqueID string, restrictions ...Restriction) (*Rune, error) {
	r := &Rune{state: m.state}
	idRestr := Restriction{{Field: "", Cond: '=', Value: uniqueID}}
	if err := r.add(idRestr); err != nil {
		return nil, fmt.Errorf("deriving rune %q: %w", uniqueID, err)
	}
	for _, restr := range restrictions {
		if err := validRestriction(restr); err != nil {
			return nil, fmt.Errorf("deriving rune %q: %w", uniqueID, err)
		}
		if err := r.add(restr); err != nil {
			return nil, fmt.Errorf("deriving rune %q: %w", uniqueID, err)
		}
	}
	return r, nil
}

// Verify reports whether r was derived from this master, with the
// reasons ccan's rune_is_derived gives: "Version mismatch" (the master
// has no version, so any versioned rune) or "Not derived from master".
func (m *RuneMaster) Verify(r *Rune) error {
	if r.version != nil {
		return errors.New("Version mismatch")
	}
	st := m.state
	for _, restr := range r.restrictions {
		var err error
		if st, err = st.addPadded([]byte(encodeRestriction(restr))); err != nil {
			return err
		}
	}
	if st.h != r.state.h {
		return errors.New("Not derived from master")
	}
	return nil
}

// Restrict returns a copy of r with more restrictions appended, as
// createrune does when given an existing rune. It needs no secret.
func (r *Rune) Restrict(restrictions ...Restriction) (*Rune, error) {
	out := &Rune{state: r.state, uniqueID: r.uniqueID, version: r.version}
	out.restrictions = append([]Restriction(nil), r.restrictions...)
	for _, restr := range restrictions {
		if err := validRestriction(restr); err != nil {
			return nil, fmt.Errorf("restricting rune: %w", err)
		}
		if err := out.add(restr); err != nil {
			return nil, fmt.Errorf("restricting rune: %w", err)
		}
	}
	return out, nil
}

// UniqueID returns the rune's unique id and whether it has one.
func (r *Rune) UniqueID() (string, bool) {
	if r.uniqueID == nil {
		return "", false
	}
	return *r.uniqueID, true
}

// Version returns the rune's version and whether it has one.
func (r *Rune) Version() (string, bool) {
	if r.version == nil {
		return "", false
	}
	return *r.version, true
}

// Restrictions returns the rune's restrictions, the unique id included.
func (r *Rune) Restrictions() []Restriction {
	return append([]Restriction(nil), r.restrictions...)
}

// hasUniqueIDRestriction reports whether restriction i is the unique id,
// which checks skip (rune_meets_criteria_ in rune.c).
func (r *Rune) hasUniqueIDRestriction(i int) bool {
	return i == 0 && len(r.restrictions) > 0 && len(r.restrictions[0]) == 1 && r.restrictions[0][0].Field == ""
}

// add appends restr and hashes it, enforcing rune_add_restr's rules for
// the unique id: an empty field name must be alone, first, and use '='.
func (r *Rune) add(restr Restriction) error {
	for _, alt := range restr {
		if alt.Field != "" {
			continue
		}
		if len(restr) != 1 || len(r.restrictions) != 0 || alt.Cond != '=' {
			return errors.New("misplaced unique id restriction")
		}
		id, ver, hasVer := strings.Cut(alt.Value, "-")
		r.uniqueID = &id
		if hasVer {
			r.version = &ver
		}
	}
	st, err := r.state.addPadded([]byte(encodeRestriction(restr)))
	if err != nil {
		return err
	}
	r.state = st
	r.restrictions = append(r.restrictions, restr)
	return nil
}

// validRestriction rejects what lightningd's createrune rejects: no
// alternatives, an empty field name, or an unknown condition.
func validRestriction(restr Restriction) error {
	if len(restr) == 0 {
		return errors.New("restriction has no alternatives")
	}
	for _, alt := range restr {
		if alt.Field == "" {
			return errors.New("restriction has an empty field name")
		}
		if !strings.ContainsRune(runeConditions, rune(alt.Cond)) || alt.Cond == 0 {
			return fmt.Errorf("restriction has invalid condition %q", alt.Cond)
		}
		if fieldNameLen(alt.Field) != len(alt.Field) {
			return fmt.Errorf("restriction field %q contains punctuation", alt.Field)
		}
	}
	return nil
}

// String returns the rune in lightningd's base64url form.
func (r *Rune) String() string {
	var b []byte
	b = append(b, r.state.h[:]...)
	b = append(b, r.restrictionText()...)
	return base64.URLEncoding.EncodeToString(b)
}

// restrictionText is the restrictions joined by '&', as after the
// authcode in the encoded rune.
func (r *Rune) restrictionText() string {
	parts := make([]string, len(r.restrictions))
	for i, restr := range r.restrictions {
		parts[i] = encodeRestriction(restr)
	}
	return strings.Join(parts, "&")
}

// encodeRestriction writes alternatives joined by '|', escaping '\\',
// '|' and '&' in values (rune_altern_encode in coding.c).
func encodeRestriction(restr Restriction) string {
	var sb strings.Builder
	for i, alt := range restr {
		if i > 0 {
			sb.WriteByte('|')
		}
		sb.WriteString(alt.String())
	}
	return sb.String()
}

// String encodes the alternative as it appears inside a rune.
func (a Alternative) String() string {
	var sb strings.Builder
	sb.WriteString(a.Field)
	sb.WriteByte(a.Cond)
	for i := 0; i < len(a.Value); i++ {
		c := a.Value[i]
		if c == '\\' || c == '|' || c == '&' {
			sb.WriteByte('\\')
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// ParseRune decodes a base64url rune the way ccan's rune_from_base64
// does: padding optional, at least 32 bytes, no NUL in the text, and
// well-formed restrictions. It does not check the authcode.
func ParseRune(s string) (*Rune, error) {
	raw, err := decodeRuneBase64(s)
	if err != nil {
		return nil, fmt.Errorf("parsing rune: %w", err)
	}
	if len(raw) < 32 {
		return nil, errors.New("parsing rune: shorter than 32 bytes")
	}
	text := string(raw[32:])
	if strings.IndexByte(text, 0) >= 0 {
		return nil, errors.New("parsing rune: NUL in restrictions")
	}
	r := &Rune{}
	// Hashing while parsing only keeps the byte count right; the chaining
	// state is then replaced by the authcode (from_string in coding.c).
	r.state.n = 64
	for len(text) > 0 {
		var restr Restriction
		restr, text, err = decodeRestriction(text)
		if err != nil {
			return nil, fmt.Errorf("parsing rune: %w", err)
		}
		if err := r.add(restr); err != nil {
			return nil, fmt.Errorf("parsing rune: %w", err)
		}
	}
	copy(r.state.h[:], raw[:32])
	return r, nil
}

// decodeRestriction reads alternatives up to an unescaped '&' or the end.
func decodeRestriction(text string) (Restriction, string, error) {
	var restr Restriction
	for {
		alt, rest, more, err := decodeAlternative(text)
		if err != nil {
			return nil, "", err
		}
		restr = append(restr, alt)
		text = rest
		if !more {
			return restr, text, nil
		}
	}
}

// decodeAlternative reads field, condition and value; more reports an
// unescaped '|' (another alternative follows).
func decodeAlternative(text string) (alt Alternative, rest string, more bool, err error) {
	n := fieldNameLen(text)
	alt.Field, text = text[:n], text[n:]
	if text == "" || !strings.ContainsRune(runeConditions, rune(text[0])) {
		return alt, "", false, fmt.Errorf("bad condition after field %q", alt.Field)
	}
	alt.Cond, text = text[0], text[1:]
	var value strings.Builder
	for len(text) > 0 {
		c := text[0]
		text = text[1:]
		if c == '|' {
			more = true
			break
		}
		if c == '&' {
			break
		}
		if c == '\\' {
			if text == "" {
				return alt, "", false, errors.New("trailing backslash")
			}
			c, text = text[0], text[1:]
		}
		value.WriteByte(c)
	}
	alt.Value = value.String()
	return alt, text, more, nil
}

// fieldNameLen is how many leading bytes form a field name: up to the
// first ASCII punctuation other than '_' (rune_altern_fieldname_len).
func fieldNameLen(s string) int {
	for i := 0; i < len(s); i++ {
		if isCPunct(s[i]) && s[i] != '_' {
			return i
		}
	}
	return len(s)
}

// isCPunct is C's ispunct in the C locale.
func isCPunct(c byte) bool {
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~')
}

// ParseAlternative reads one alternative as createrune takes it from
// JSON (rune_altern_from_json): field name, condition, and the rest of
// the string as the value, unescaped. An empty field name is refused.
func ParseAlternative(s string) (Alternative, error) {
	n := fieldNameLen(s)
	if n == len(s) || !strings.ContainsRune(runeConditions, rune(s[n])) {
		return Alternative{}, fmt.Errorf("parsing alternative %q: no valid condition", s)
	}
	if n == 0 {
		return Alternative{}, fmt.Errorf("parsing alternative %q: empty field name", s)
	}
	return Alternative{Field: s[:n], Cond: s[n], Value: s[n+1:]}, nil
}

// decodeRuneBase64 follows ccan's base64_decode_using_maps with the
// urlsafe alphabet: every group of four but the last must be full and
// padding-free; the last group may drop or keep its '=' padding.
func decodeRuneBase64(s string) ([]byte, error) {
	var out []byte
	i := 0
	for ; len(s)-i > 4; i += 4 {
		b, err := decodeQuartet(s[i : i+4])
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	tail := strings.TrimRight(s[i:], "=")
	switch len(tail) {
	case 0:
		return out, nil
	case 1:
		return nil, errors.New("malformed base64 tail")
	}
	b, err := decodeQuartet(tail + strings.Repeat("A", 4-len(tail)))
	if err != nil {
		return nil, err
	}
	return append(out, b[:len(tail)-1]...), nil
}

// decodeQuartet turns four base64url characters into three bytes.
func decodeQuartet(q string) ([]byte, error) {
	var v uint32
	for i := 0; i < 4; i++ {
		d := strings.IndexByte(runeBase64Alphabet, q[i])
		if d < 0 {
			return nil, fmt.Errorf("invalid base64 character %q", q[i])
		}
		v = v<<6 | uint32(d)
	}
	return []byte{byte(v >> 16), byte(v >> 8), byte(v)}, nil
}

const runeBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Evaluate runs check on every alternative of every restriction except
// the unique id. A restriction passes when any alternative passes; the
// first failing restriction's messages are joined with " AND "
// (rune_restr_test in rune.c).
func (r *Rune) Evaluate(check func(Alternative) error) error {
	for i, restr := range r.restrictions {
		if r.hasUniqueIDRestriction(i) {
			continue
		}
		msgs := make([]string, 0, len(restr))
		passed := false
		for _, alt := range restr {
			err := check(alt)
			if err == nil {
				passed = true
				break
			}
			msgs = append(msgs, err.Error())
		}
		if !passed {
			return errors.New(strings.Join(msgs, " AND "))
		}
	}
	return nil
}

// TestMissing checks the alternative against an absent field.
func (a Alternative) TestMissing() error {
	switch a.Cond {
	case '!', '#':
		return nil
	}
	return fmt.Errorf("%s not present", a.Field)
}

// TestInt checks the alternative against an integer field; string
// conditions compare its decimal form.
func (a Alternative) TestInt(v int64) error {
	switch a.Cond {
	case '<', '>':
		limit, ok := parseCLong(a.Value)
		if !ok {
			return fmt.Errorf("%s is not a valid integer", a.Value)
		}
		if a.Cond == '<' && v >= limit {
			return a.fail("is greater or equal to")
		}
		if a.Cond == '>' && v <= limit {
			return a.fail("is less or equal to")
		}
		return nil
	}
	return a.testString(strconv.FormatInt(v, 10), true)
}

// TestString checks the alternative against a string field; '<' and '>'
// fail because the field is not an integer.
func (a Alternative) TestString(v string) error {
	return a.testString(v, false)
}

func (a Alternative) testString(v string, isInt bool) error {
	switch a.Cond {
	case '!':
		return fmt.Errorf("%s is present", a.Field)
	case '#':
		return nil
	case '=':
		return a.failUnless(v == a.Value, "is not equal to")
	case '/':
		return a.failUnless(v != a.Value, "is equal to")
	case '^':
		return a.failUnless(strings.HasPrefix(v, a.Value), "does not start with")
	case '$':
		return a.failUnless(strings.HasSuffix(v, a.Value), "does not end with")
	case '~':
		return a.failUnless(strings.Contains(v, a.Value), "does not contain")
	case '{':
		return a.failUnless(v < a.Value, "is equal to or ordered after")
	case '}':
		return a.failUnless(v > a.Value, "is equal to or ordered before")
	case '<', '>':
		if !isInt {
			return fmt.Errorf("%s is not an integer field", a.Field)
		}
	}
	return fmt.Errorf("%s has unknown condition %q", a.Field, a.Cond)
}

func (a Alternative) failUnless(ok bool, complaint string) error {
	if ok {
		return nil
	}
	return a.fail(complaint)
}

// fail formats ccan's "<field> <complaint> <value>" message.
func (a Alternative) fail(complaint string) error {
	return fmt.Errorf("%s %s %s", a.Field, complaint, a.Value)
}

// parseCLong parses like C's strtol(s, &end, 10) requiring the whole
// string to be used: leading white space and a sign are allowed.
func parseCLong(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// English describes the alternative as showrunes does
// (rune_altern_to_english in lightningd/runes.c).
func (a Alternative) English() string {
	phrases := map[byte]string{
		'=': "equal to", '/': "unequal to", '^': "starts with", '$': "ends with",
		'~': "contains", '<': "<", '>': ">", '{': "sorts before", '}': "sorts after",
	}
	switch a.Cond {
	case '!':
		return a.Field + " is missing"
	case '#':
		return fmt.Sprintf("comment: %s %s", a.Field, a.Value)
	}
	return fmt.Sprintf("%s %s %s", a.Field, phrases[a.Cond], a.Value)
}

// shaState is a SHA-256 chaining state after a whole number of blocks.
type shaState struct {
	h [32]byte
	n uint64 // bytes hashed so far, a multiple of 64
}

// sha256 digests marshal as magic, the eight state words (big-endian),
// the 64-byte block buffer and the byte count (crypto/sha256).
const (
	shaMagic         = "sha\x03"
	shaMarshaledSize = len(shaMagic) + 32 + 64 + 8
)

func newShaState() (shaState, error) {
	b, err := sha256.New().(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil || len(b) != shaMarshaledSize {
		return shaState{}, fmt.Errorf("reading sha256 initial state: unexpected format (%v)", err)
	}
	var st shaState
	copy(st.h[:], b[len(shaMagic):])
	return st, nil
}

// addPadded hashes data followed by the SHA-256 end marker for the total
// length so far, leaving the state block-aligned again
// (rune_sha256_endmarker in rune.c).
func (st shaState) addPadded(data []byte) (shaState, error) {
	in := make([]byte, 0, shaMarshaledSize)
	in = append(in, shaMagic...)
	in = append(in, st.h[:]...)
	in = append(in, make([]byte, 64)...)
	in = binary.BigEndian.AppendUint64(in, st.n)
	d := sha256.New()
	if err := d.(encoding.BinaryUnmarshaler).UnmarshalBinary(in); err != nil {
		return shaState{}, fmt.Errorf("restoring sha256 state: %w", err)
	}
	total := st.n + uint64(len(data))
	d.Write(data)
	d.Write(shaPadding(total))
	out, err := d.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil || len(out) != shaMarshaledSize {
		return shaState{}, fmt.Errorf("saving sha256 state: unexpected format (%v)", err)
	}
	var next shaState
	copy(next.h[:], out[len(shaMagic):])
	next.n = total + uint64(len(shaPadding(total)))
	return next, nil
}

// shaPadding is 0x80, zeros up to 8 bytes short of a block, then the
// bit length, for a message of total bytes.
func shaPadding(total uint64) []byte {
	zeros := (128 - 8 - int(total%64) - 1) % 64
	pad := make([]byte, 1+zeros, 1+zeros+8)
	pad[0] = 0x80
	return binary.BigEndian.AppendUint64(pad, total<<3)
}
