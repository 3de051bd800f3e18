package bot

// ParseLabel checks a follow label by the rules of /follow (at most 32 characters,
// printable only) and returns it; the error is a [*UsageError] worded for the user.
// The HTTP API's POST /api/follows uses it so both paths accept the same labels.
func ParseLabel(label string) (string, error) {
	if label == "" {
		return "", nil
	}
	return parseLabel([]string{label})
}
