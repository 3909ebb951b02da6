package api

import (
	"strings"
	"testing"
)

func TestResolveTokensOptional(t *testing.T) {
	env := map[string]string{"SET_TOKEN": "tok-1"}
	getenv := func(k string) string { return env[k] }
	c := HTTPConfig{Tokens: []TokenConfig{
		{Name: "set", TokenEnv: "SET_TOKEN", Role: "operator"},
		{Name: "demo-desk", TokenEnv: "UNSET_TOKEN", Role: "department:xiqu-office", Optional: true},
		{Name: "inline", Token: "tok-2", Role: "viewer"},
	}}
	got, err := c.ResolveTokens(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Token != "tok-1" || got[1].Name != "inline" {
		t.Fatalf("tokens = %+v: want the set and the inline token, the unset optional one left out", got)
	}
	// The same unset variable on a token that is not optional stops start-up, naming it.
	c.Tokens[1].Optional = false
	if _, err := c.ResolveTokens(getenv); err == nil || !strings.Contains(err.Error(), "tokens[1] (demo-desk): environment variable UNSET_TOKEN is empty") {
		t.Fatalf("err = %v", err)
	}
}
