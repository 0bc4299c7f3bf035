package finding

import "testing"

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{
		"critical": Critical, "FATAL": Critical, "high": High, "Medium": Medium, "warn": Medium,
		"moderate": Medium, "low": Low, "info": Info, "unknown": Unknown, " HIGH ": High,
	} {
		got, err := ParseSeverity(in)
		if err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("ParseSeverity(severe) accepted")
	}
}

func TestLintLevel(t *testing.T) {
	for s, want := range map[Severity]string{Info: "INFO", Low: "INFO", Medium: "WARN", High: "WARN", Critical: "FATAL"} {
		if got := s.LintLevel(); got != want {
			t.Errorf("%v.LintLevel() = %s, want %s", s, got, want)
		}
	}
}

func TestSeverityText(t *testing.T) {
	var s Severity
	if err := s.UnmarshalText([]byte("fatal")); err != nil || s != Critical {
		t.Errorf("UnmarshalText(fatal) = %v, %v", s, err)
	}
	if b, _ := High.MarshalText(); string(b) != "HIGH" {
		t.Errorf("MarshalText = %s", b)
	}
	if Severity(42).String() != "Severity(42)" {
		t.Error("out-of-range severity must not panic or claim a name")
	}
}
