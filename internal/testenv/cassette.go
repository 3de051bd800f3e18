package testenv

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// CassetteBody returns the first response body recorded in the VCR cassette (YAML)
// at path, such as the recorded Hyperliquid info API responses in shared/data. It
// fails the test when the file cannot be read or holds no such body; a test whose
// cassette may be absent checks for it first (SharedData skips then).
func CassetteBody(t testing.TB, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read cassette: %v", err)
	}
	body, err := cassetteBody(string(raw))
	if err != nil {
		t.Fatalf("cassette %s: %v", path, err)
	}
	return body
}

// cassetteBody extracts the first response body of a cassette: the YAML single-quoted
// scalar after "string: " under "response:". In such a scalar a doubled single quote
// stands for one, and a line break with the indentation around it folds into one
// space (n blank lines fold into n newlines instead). Only what the cassettes use is
// handled; no YAML library is needed for that.
func cassetteBody(yaml string) (string, error) {
	r := strings.Index(yaml, "\n  response:")
	if r < 0 {
		return "", errors.New("no response")
	}
	const marker = "string: '"
	i := strings.Index(yaml[r:], marker)
	if i < 0 {
		return "", errors.New("no single-quoted response body")
	}
	s := yaml[r+i+len(marker):]
	var out []byte
	for j := 0; j < len(s); j++ {
		switch c := s[j]; c {
		case '\'':
			if j+1 < len(s) && s[j+1] == '\'' {
				out = append(out, '\'')
				j++
				continue
			}
			return string(out), nil
		case '\n':
			for len(out) > 0 && (out[len(out)-1] == ' ' || out[len(out)-1] == '\t') {
				out = out[:len(out)-1]
			}
			// Skip the indentation and count the blank lines that follow.
			blanks, k := 0, j+1
			for {
				for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
					k++
				}
				if k < len(s) && s[k] == '\n' {
					blanks++
					k++
					continue
				}
				break
			}
			if blanks == 0 {
				out = append(out, ' ')
			}
			for ; blanks > 0; blanks-- {
				out = append(out, '\n')
			}
			j = k - 1
		default:
			out = append(out, c)
		}
	}
	return "", fmt.Errorf("unterminated body after %d bytes", len(out))
}
