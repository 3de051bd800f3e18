package bot

import "testing"

func TestTableString(t *testing.T) {
	tb := &Table{
		Columns: []Column{{Name: "coin"}, {Name: "px", Right: true}, {Name: "note"}},
		Rows: [][]string{
			{"BTC", "65,000", "0x51f6…2b39"},
			{"ETHEREUM", "1"},       // missing cell renders empty, no trailing spaces
			{"X", "2", "", "extra"}, // extra cells are ignored
		},
	}
	want := "coin          px  note\n" +
		"BTC       65,000  0x51f6…2b39\n" +
		"ETHEREUM       1\n" +
		"X              2"
	if got := tb.String(); got != want {
		t.Fatalf("got:\n%q\nwant:\n%q", got, want)
	}
	if got := (&Table{}).String(); got != "" {
		t.Fatalf("empty table = %q", got)
	}
}

func TestReplyString(t *testing.T) {
	r := Reply{Title: "T", Text: "a\nb", Table: &Table{Columns: []Column{{Name: "c"}}, Rows: [][]string{{"1"}}}, Footer: "f"}
	if got := r.String(); got != "T\na\nb\nc\n1\nf" {
		t.Fatalf("got %q", got)
	}
	if got := (Reply{Footer: "only"}).String(); got != "only" {
		t.Fatalf("got %q", got)
	}
	if !(Reply{Kind: KindError}).IsZero() || (Reply{Text: "x"}).IsZero() {
		t.Fatal("IsZero looks at content, not kind")
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindInfo: "info", KindSlowDown: "slow_down", KindError: "error", Kind(99): "kind(99)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", k, got, want)
		}
	}
}
