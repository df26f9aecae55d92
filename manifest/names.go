package manifest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/layout"
)

// Name limits. App names and node ids become parts of NATS bucket names,
// subjects and KV keys, so they stay short and use only characters every
// one of those accepts.
const (
	MaxAppNameLen    = 32
	MaxNodeIDLen     = 64
	MaxEventNameLen  = 64
	MaxLabelLen      = 63
	MaxConfigKeyLen  = 128
	MaxVersionLen    = 64
	MaxConfigBytes   = 64 << 10 // all config keys and values together
	MaxInterfaceLen  = 15       // Linux IFNAMSIZ less the terminator
	MaxManifestBytes = 256 << 10
)

// nameRule is one kind of name: its pattern, its length limit and the words
// that explain both when a name breaks them.
type nameRule struct {
	what string
	max  int
	re   *regexp.Regexp
	rule string
}

var (
	appNameRule = nameRule{"app name", MaxAppNameLen, regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`),
		"lowercase letters, digits and - only, starting with a letter, not ending in -"}
	methodRule = nameRule{"method name", abi.MaxMethodLen, regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`),
		"letters, digits, _ and - only, starting with a letter"}
	nodeIDRule = nameRule{"node id", MaxNodeIDLen, regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`),
		"letters, digits, _ and - only, starting with a letter or digit"}
	eventRule = nameRule{"event name", MaxEventNameLen, regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`),
		"letters, digits, _ and - only, starting with a letter or digit"}
	labelKeyRule = nameRule{"label key", MaxLabelLen, regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`),
		"letters, digits, ., _, / and - only, starting with a letter or digit"}
	labelValueRule = nameRule{"label value", MaxLabelLen, regexp.MustCompile(`^[A-Za-z0-9._-]*$`),
		"letters, digits, ., _ and - only"}
	configKeyRule = nameRule{"config key", MaxConfigKeyLen, regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`),
		"letters, digits, ., _ and - only, not starting with . or -"}
	envNameRule = nameRule{"environment variable name", 256, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`),
		"letters, digits and _ only, not starting with a digit"}
	containerRule = nameRule{"container name", 256, regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`),
		"letters, digits, ., _ and - only, starting with a letter or digit"}
	// The grammar of semver.org, which NATS micro also enforces.
	semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
		`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
		`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
)

// problem returns why s breaks the rule, or "" when it does not.
func (r nameRule) problem(s string) string {
	if len(s) > r.max {
		return fmt.Sprintf("%q is %d bytes; the limit is %d", s, len(s), r.max)
	}
	if !r.re.MatchString(s) {
		return fmt.Sprintf("%q is not a valid %s (%s)", s, r.what, r.rule)
	}
	return ""
}

func (r nameRule) check(c *errs, field, s string) {
	if p := r.problem(s); p != "" {
		c.add(field, "%s", p)
	}
}

// ValidAppName reports whether s can name an app: a lowercase letter, then
// lowercase letters, digits and '-', not ending in '-', at most
// MaxAppNameLen bytes, and not layout.PlatformApp ("platform"), which is
// reserved as the source of platform events.
func ValidAppName(s string) bool { return appNameRule.problem(s) == "" && s != layout.PlatformApp }

// ValidMethod reports whether s can name an API method: a letter, then
// letters, digits, '_' and '-', at most abi.MaxMethodLen bytes. NATS micro
// accepts these as endpoint names.
func ValidMethod(s string) bool { return methodRule.problem(s) == "" }

// ValidNodeID reports whether s can be a node id: a letter or digit, then
// letters, digits, '_' and '-', at most MaxNodeIDLen bytes.
func ValidNodeID(s string) bool { return nodeIDRule.problem(s) == "" }

// ValidEventName reports whether s can name an event: one subject token of
// letters, digits, '_' and '-', at most MaxEventNameLen bytes.
func ValidEventName(s string) bool { return eventRule.problem(s) == "" }

// ValidLabelKey reports whether s can be a node label key: a letter or
// digit, then letters, digits, '.', '_', '/' and '-', at most MaxLabelLen
// bytes. Hosts should check their own node labels with it and
// ValidLabelValue, so every label a node has can be selected.
func ValidLabelKey(s string) bool { return labelKeyRule.problem(s) == "" }

// ValidLabelValue reports whether s can be a node label value: letters,
// digits, '.', '_' and '-', possibly empty, at most MaxLabelLen bytes.
func ValidLabelValue(s string) bool { return labelValueRule.problem(s) == "" }

// validInterface follows Linux's dev_valid_name.
func validInterface(s string) bool {
	if s == "" || len(s) > MaxInterfaceLen || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/: \t\n\r\v\f\x00")
}
