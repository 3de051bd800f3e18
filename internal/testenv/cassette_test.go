package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCassetteBodyParse(t *testing.T) {
	tests := map[string]struct {
		yaml    string
		want    string
		wantErr bool
	}{
		"plain": {
			yaml: "interactions:\n- request:\n    body: '{\"type\": \"allMids\"}'\n  response:\n    body:\n      string: '{\"a\":\"1\"}'\n    headers: {}\n",
			want: `{"a":"1"}`,
		},
		"quote and folded line": {
			yaml: "- request:\n    body: 'no'\n  response:\n    body:\n      string: '[{\"dir\":\"Close\n        Long\",\"q\":\"it''s\"}]'\n",
			want: `[{"dir":"Close Long","q":"it's"}]`,
		},
		"blank line is a newline": {
			yaml: "x:\n  response:\n    body:\n      string: 'a\n\n        b'\n",
			want: "a\nb",
		},
		"trailing spaces before a break": {
			yaml: "x:\n  response:\n    body:\n      string: 'a  \n        b'\n",
			want: "a b",
		},
		"request string skipped": {
			yaml: "- request:\n    body:\n      string: 'asked'\n  response:\n    body:\n      string: 'answered'\n",
			want: "answered",
		},
		"unterminated":   {yaml: "  response:\n    body:\n      string: 'abc\n", wantErr: true},
		"no response":    {yaml: "interactions: []\n", wantErr: true},
		"no quoted body": {yaml: "x:\n  response:\n    body:\n      string: \"abc\"\n", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := cassetteBody(tc.yaml)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("body = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCassetteBodyFile(t *testing.T) {
	const yaml = "interactions:\n- request:\n    body: 'not this'\n  response:\n    body:\n" +
		"      string: '[{\"dir\":\"Close\n        Long\",\"q\":\"it''s\"},\n\n        {\"x\":1}]'\n    headers: {}\n"
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	want := "[{\"dir\":\"Close Long\",\"q\":\"it's\"},\n{\"x\":1}]"
	if got := CassetteBody(t, path); got != want {
		t.Errorf("CassetteBody = %q, want %q", got, want)
	}
}
