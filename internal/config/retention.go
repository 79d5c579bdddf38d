package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Retention says how long each kind of record is kept (docs/metering.md,
// "Retention and rollups"). 0 keeps records for ever.
//
//	metering:
//	  retention:
//	    usage: 90d           # raw usage rows; the rollups keep their sums
//	    audit: 0             # audit rows (pruned as a prefix, with a checkpoint)
//	    minute_rollups: 90d  # minute rollups (summary edges); default: as usage
//	    hourly_rollups: 400d
//	    daily_rollups: 0
//	    conversations: 30d   # stored Responses conversations (default 30d)
//	    cache: 7d            # cache entries
//	    shadow: 30d          # shadow comparisons
//	    interval: 10m        # how often pruning runs
//	    batch: 5000          # rows deleted per transaction
//	    rollup_end_users: 0  # end users a day the rollups name (0: none)
type Retention struct {
	Usage         Days `yaml:"usage"`
	Audit         Days `yaml:"audit"`
	MinuteRollups Days `yaml:"minute_rollups"`
	HourlyRollups Days `yaml:"hourly_rollups"`
	DailyRollups  Days `yaml:"daily_rollups"`
	// Conversations are stored Responses conversations, Shadow shadow
	// comparisons (both in the store). Cache bounds how long a response
	// cache entry lives (the cache is in memory): it caps every cache ttl.
	Conversations Days `yaml:"conversations"`
	Cache         Days `yaml:"cache"`
	Shadow        Days `yaml:"shadow"`
	// Interval is how often pruning runs. Default 10m.
	Interval Duration `yaml:"interval"`
	// Batch is the most rows one delete transaction removes. Default 5000.
	Batch int `yaml:"batch"`
	// RollupEndUsers is how many distinct end users a UTC day's
	// attribution rollups (summaries by tag and end user) name; later ones
	// that day are summed under "(other)". Default 0: the rollups name no
	// end user (an end user id is often personal data, and naming each one
	// costs two more rows a record), so summaries by end user read the raw
	// rows, within usage retention.
	RollupEndUsers int `yaml:"rollup_end_users"`
}

// Days is a retention period: "90d", "2w", "36h" or "0" (for ever). A 0
// written in the config is kept as forEver, so that defaults, which fill
// only unset fields, do not replace it.
type Days time.Duration

const forEver Days = -1

// D returns the period as a time.Duration, 0 for ever.
func (d Days) D() time.Duration {
	if d < 0 {
		return 0
	}
	return time.Duration(d)
}

// UnmarshalYAML reads "90d", "2w" or any Go duration.
func (d *Days) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	if strings.TrimSpace(s) == "" {
		// Often a ${VAR:-} that expanded to nothing: taken as "0" it
		// kept records for ever without a word.
		return fmt.Errorf("line %d: empty retention (write 0 to keep records for ever, or leave the field out for its default)", n.Line)
	}
	v, err := ParseDays(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Days(v)
	if v == 0 {
		*d = forEver
	}
	return nil
}

// MarshalYAML writes whole days as "Nd".
func (d Days) MarshalYAML() (any, error) {
	if d <= 0 {
		return "0", nil
	}
	if d%Days(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/Days(24*time.Hour)), 10) + "d", nil
	}
	return time.Duration(d).String(), nil
}

// maxRetention bounds a retention period: a century. Larger values are
// typing mistakes, and past ~292 years a time.Duration overflows (a
// 99999999999d once wrapped to a negative period, read as "for ever").
const maxRetention = 36500 * 24 * time.Hour

// ParseDays reads "90d", "2w", "0" or a Go duration, up to 36500d.
func ParseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "" {
		return 0, nil
	}
	tooLong := fmt.Errorf("retention %q is longer than %dd (a century)", s, maxRetention/(24*time.Hour))
	var v time.Duration
	if num, unit, ok := cutDayUnit(s); ok {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid retention %q (want e.g. \"90d\")", s)
		}
		if n > int64(maxRetention/unit) {
			return 0, tooLong
		}
		v = time.Duration(n) * unit
	} else {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("invalid retention %q (want e.g. \"90d\")", s)
		}
		v = d
	}
	if v > maxRetention {
		return 0, tooLong
	}
	return v, nil
}

// cutDayUnit splits "90d" or "2w" into its number and unit.
func cutDayUnit(s string) (string, time.Duration, bool) {
	if num, ok := strings.CutSuffix(s, "d"); ok {
		return num, 24 * time.Hour, true
	}
	if num, ok := strings.CutSuffix(s, "w"); ok {
		return num, 7 * 24 * time.Hour, true
	}
	return s, 0, false
}

func (r *Retention) applyDefaults() {
	if r.Usage == 0 {
		r.Usage = Days(90 * 24 * time.Hour)
	}
	if r.MinuteRollups == 0 {
		r.MinuteRollups = r.Usage // summary edges need them as long as raw rows
	}
	if r.HourlyRollups == 0 {
		r.HourlyRollups = Days(400 * 24 * time.Hour)
	}
	if r.Conversations == 0 {
		// OpenAI keeps stored responses for 30 days.
		r.Conversations = Days(30 * 24 * time.Hour)
	}
	if r.Interval == 0 {
		r.Interval = Duration(10 * time.Minute)
	}
	if r.Batch == 0 {
		r.Batch = 5000
	}
}

func (r *Retention) validate(path string) []error {
	var errs []error
	if d := r.Usage.D(); d != 0 && d < 2*time.Hour {
		errs = append(errs, errorf(path+".usage", "must be at least 2h (or 0, for ever), not %s", d))
	}
	if d := r.Audit.D(); d != 0 && d < 24*time.Hour {
		errs = append(errs, errorf(path+".audit", "must be at least 1d (or 0, for ever), not %s", d))
	}
	if r.HourlyRollups.D() != 0 && r.Usage.D() != 0 && r.HourlyRollups.D() < r.Usage.D() {
		errs = append(errs, errorf(path+".hourly_rollups", "must be at least as long as usage (%s)", r.Usage.D()))
	}
	if d := r.DailyRollups.D(); d != 0 && (r.HourlyRollups.D() == 0 || d < r.HourlyRollups.D()) {
		// Summaries read whole days from the daily rollups: days whose
		// daily rows are gone would be missing though their hours are kept.
		errs = append(errs, errorf(path+".daily_rollups", "must be at least as long as hourly_rollups (%s; 0: for ever), not %s",
			r.HourlyRollups.D(), d))
	}
	if r.Interval.D() < time.Second {
		errs = append(errs, errorf(path+".interval", "must be at least 1s, not %s", r.Interval.D()))
	}
	if r.Batch < 1 || r.Batch > 100000 {
		errs = append(errs, errorf(path+".batch", "must be between 1 and 100000, not %d", r.Batch))
	}
	if r.RollupEndUsers < 0 || r.RollupEndUsers > 1000000 {
		errs = append(errs, errorf(path+".rollup_end_users", "must be between 0 (name none) and 1000000, not %d", r.RollupEndUsers))
	}
	return errs
}

// Disk guards the data directory's free space (docs/metering.md):
//
//	metering:
//	  disk: { warn_free: 2GB, refuse_free: 256MB, check_interval: 10s }
//
// Under warn_free the gateway logs a warning and sets
// fulcrum_data_dir_low_space to 1; under refuse_free it answers requests
// that would need a record 503 (code insufficient_storage) rather than
// lose records, and the gauge is 2. 0 turns a threshold off.
type Disk struct {
	WarnFree      ByteSize `yaml:"warn_free"`
	RefuseFree    ByteSize `yaml:"refuse_free"`
	CheckInterval Duration `yaml:"check_interval"`
}

// ByteSize is a size in bytes written "512MB", "2GB", "1GiB" or "1048576".
type ByteSize int64

// UnmarshalYAML reads a size with an optional unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := ParseByteSize(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = ByteSize(v)
	if v == 0 {
		*b = -1 // written as 0: off (unset takes the default)
	}
	return nil
}

// ParseByteSize reads "512MB", "2GB", "1GiB", "64KB" or a number of bytes.
func ParseByteSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mult := int64(1)
	orig := s
	s = strings.TrimSpace(s)
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q (want e.g. \"512MB\")", orig)
	}
	return n * mult, nil
}

func (d *Disk) applyDefaults() {
	if d.WarnFree == 0 {
		d.WarnFree = ByteSize(2e9)
	}
	if d.RefuseFree == 0 {
		d.RefuseFree = ByteSize(256e6)
	}
	if d.CheckInterval == 0 {
		d.CheckInterval = Duration(10 * time.Second)
	}
}

func (d *Disk) validate(path string) []error {
	var errs []error
	if d.WarnFree > 0 && d.RefuseFree > 0 && d.WarnFree < d.RefuseFree {
		errs = append(errs, errorf(path+".warn_free", "must be at least refuse_free"))
	}
	if d.CheckInterval.D() < 100*time.Millisecond {
		errs = append(errs, errorf(path+".check_interval", "must be at least 100ms, not %s", d.CheckInterval.D()))
	}
	return errs
}
