package main

import (
	"os"
	"path/filepath"
	"testing"
)

var completionFiles = map[string]string{
	"bash": "hush.bash", "zsh": "_hush", "fish": "hush.fish", "powershell": "hush.ps1",
}

// TestCompletionFilesCurrent keeps the committed scripts under completions/
// equal to what `hush completion SHELL` prints. HUSH_UPDATE_COMPLETIONS=1
// rewrites them.
func TestCompletionFilesCurrent(t *testing.T) {
	t.Parallel()
	for shell, name := range completionFiles {
		path := filepath.Join("..", "..", "completions", name)
		if os.Getenv("HUSH_UPDATE_COMPLETIONS") == "1" {
			if err := os.WriteFile(path, []byte(completionScripts[shell]), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run HUSH_UPDATE_COMPLETIONS=1 go test ./cmd/hush -run Completion)", shell, err)
		}
		if string(b) != completionScripts[shell] {
			t.Errorf("completions/%s is stale; run HUSH_UPDATE_COMPLETIONS=1 go test ./cmd/hush -run CompletionFilesCurrent", name)
		}
	}
	if len(completionFiles) != len(completionScripts) {
		t.Fatal("a completion script has no committed file")
	}
}
