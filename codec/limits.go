package codec

// Default bounds used when a Limits field is zero.
const (
	// DefaultMaxDepth allows far deeper nesting than any lightningd command
	// takes (a handful of levels) while keeping recursion shallow.
	DefaultMaxDepth = 64
	// DefaultMaxKeys bounds the values in one body; the body size limit
	// bounds it too, but a YAML alias can multiply values without bytes.
	DefaultMaxKeys = 100000
	// DefaultMaxAliases is plenty for hand-written YAML that reuses an
	// anchor, and far too few for an alias bomb.
	DefaultMaxAliases = 100
)

// Limits bounds the shape of a decoded request body. A zero field means its
// default. Breaking a bound is a *SyntaxError wrapping a *LimitError.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays, the params
	// object itself being depth 1. Default DefaultMaxDepth.
	MaxDepth int
	// MaxKeys is the most object members plus array elements (XML: elements
	// and attributes; form: fields) in one body, counted after YAML aliases
	// are expanded. Default DefaultMaxKeys.
	MaxKeys int
	// MaxAliases is the most YAML alias references (*name) in one body.
	// Default DefaultMaxAliases.
	MaxAliases int
}

// withDefaults returns l with zero fields replaced by their defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = DefaultMaxKeys
	}
	if l.MaxAliases <= 0 {
		l.MaxAliases = DefaultMaxAliases
	}
	return l
}

// budget counts what one decode has used against its Limits.
type budget struct {
	lim     Limits
	keys    int
	aliases int
}

func newBudget(lim Limits) *budget { return &budget{lim: lim.withDefaults()} }

// depth checks that a container at nesting level d (1 = params) is allowed.
func (b *budget) depth(d int) error {
	if d > b.lim.MaxDepth {
		return &LimitError{Limit: "depth", Max: b.lim.MaxDepth}
	}
	return nil
}

// key counts one more member or element.
func (b *budget) key() error {
	b.keys++
	if b.keys > b.lim.MaxKeys {
		return &LimitError{Limit: "keys", Max: b.lim.MaxKeys}
	}
	return nil
}

// alias counts one more YAML alias reference.
func (b *budget) alias() error {
	b.aliases++
	if b.aliases > b.lim.MaxAliases {
		return &LimitError{Limit: "aliases", Max: b.lim.MaxAliases}
	}
	return nil
}
